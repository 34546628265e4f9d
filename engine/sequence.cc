#include "engine/sequence.h"

#include <algorithm>

#include "engine/check.h"

namespace glaserve {

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kStopSequence: return "stop_sequence";
    case FinishReason::kCancelled: return "cancelled";
  }
  return "unknown";
}

Sequence::Sequence(std::vector<int32_t> prompt_token_ids, const SamplingParams& params,
                   const Tokenizer* tokenizer, int32_t eos_token_id)
    : prompt_token_ids_(std::move(prompt_token_ids)),
      params_(params),
      eos_token_id_(eos_token_id),
      sampler_(params_, prompt_token_ids_),
      stop_matcher_(params_.stop) {
  CHECK(!prompt_token_ids_.empty()) << "a sequence needs at least one prompt token";
  CHECK(tokenizer != nullptr || params_.stop.empty()) << "stop strings need a tokenizer";
  if (tokenizer != nullptr) {
    detokenizer_ = std::make_unique<StreamDetokenizer>(*tokenizer, prompt_token_ids_);
  }
  if (params_.min_tokens > 0) {
    min_tokens_banned_ids_ = params_.stop_token_ids;
    if (!params_.ignore_eos) min_tokens_banned_ids_.push_back(eos_token_id_);
  }
}

void Sequence::SkipPromptTokens(int64_t num_tokens) {
  CHECK_EQ(num_prefilled_, 0) << "SkipPromptTokens after prefill started";
  CHECK(num_tokens >= 0 && num_tokens < static_cast<int64_t>(prompt_token_ids_.size()))
      << "cannot skip " << num_tokens << " of " << prompt_token_ids_.size() << " prompt tokens";
  num_prefilled_ = num_tokens;
}

std::span<const int32_t> Sequence::TakePromptPiece(int64_t max_tokens) {
  const int64_t n = std::min<int64_t>(max_tokens, prompt_token_ids_.size() - num_prefilled_);
  std::span<const int32_t> piece(prompt_token_ids_.data() + num_prefilled_, n);
  num_prefilled_ += n;
  return piece;
}

std::span<const int32_t> Sequence::BannedTokenIds() const {
  if (static_cast<int32_t>(output_token_ids_.size()) >= params_.min_tokens) return {};
  return min_tokens_banned_ids_;
}

bool Sequence::IsStopToken(int32_t token_id) const {
  if (token_id == eos_token_id_ && !params_.ignore_eos) return true;
  return std::find(params_.stop_token_ids.begin(), params_.stop_token_ids.end(), token_id) !=
         params_.stop_token_ids.end();
}

SequenceDelta Sequence::SampleNext(std::span<const float> logits) {
  CHECK(!finished()) << "SampleNext on a finished sequence";
  CHECK(prefill_done()) << "SampleNext before the prompt was prefilled";
  return AcceptToken(sampler_.Sample(logits, BannedTokenIds()));
}

DeviceSamplingRequest Sequence::DeviceSampling(DeviceSamplingStorage& storage) const {
  DeviceSamplingRequest request;
  request.params = &params_;
  request.seed = sampler_.seed();
  request.draw_index = static_cast<uint64_t>(sampler_.num_output_tokens());
  sampler_.PenaltyTokens(storage.penalty_token_ids, storage.penalty_output_counts);
  request.penalty_token_ids = storage.penalty_token_ids;
  request.penalty_output_counts = storage.penalty_output_counts;
  request.banned_token_ids = BannedTokenIds();
  return request;
}

SequenceDelta Sequence::AcceptToken(SampledToken sampled) {
  CHECK(!finished()) << "AcceptToken on a finished sequence";
  sampler_.Accept(sampled.token_id);
  output_token_ids_.push_back(sampled.token_id);

  SequenceDelta delta;
  delta.tokens.push_back({sampled.token_id, sampled.logprob, std::move(sampled.top)});
  // A stop token ends the sequence; its text (e.g. "</s>") is not shown.
  if (IsStopToken(sampled.token_id)) {
    FinishInto(FinishReason::kStop, delta);
    return delta;
  }
  if (detokenizer_ != nullptr) {
    StopStringMatcher::Result matched = stop_matcher_.Append(detokenizer_->Append(sampled.token_id));
    delta.text = std::move(matched.emit);
    if (matched.stopped) {
      finish_reason_ = FinishReason::kStopSequence;
      delta.finish_reason = finish_reason_;
      return delta;
    }
  }
  if (static_cast<int32_t>(output_token_ids_.size()) >= params_.max_tokens) {
    FinishInto(FinishReason::kLength, delta);
  }
  return delta;
}

SequenceDelta Sequence::Finish(FinishReason reason) {
  SequenceDelta delta;
  if (!finished()) FinishInto(reason, delta);
  return delta;
}

void Sequence::FinishInto(FinishReason reason, SequenceDelta& delta) {
  if (detokenizer_ != nullptr) {
    // Text held back for an unfinished UTF-8 sequence or a possible stop string is
    // final now; a stop string can still complete inside it.
    StopStringMatcher::Result matched = stop_matcher_.Append(detokenizer_->Flush());
    delta.text += matched.emit;
    if (matched.stopped) {
      reason = FinishReason::kStopSequence;
    } else {
      delta.text += stop_matcher_.Flush();
    }
  }
  finish_reason_ = reason;
  delta.finish_reason = reason;
}

}  // namespace glaserve
