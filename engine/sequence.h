// One generation request as the engine sees it: its prompt, how far prefill has got, the
// tokens generated so far, and the per-request sampling and stopping rules. Turns the
// logits of each step into the next token plus the text the client should see.
#ifndef GLASERVE_ENGINE_SEQUENCE_H_
#define GLASERVE_ENGINE_SEQUENCE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/sampler.h"
#include "engine/sampling_params.h"
#include "engine/stop_string_matcher.h"
#include "engine/stream_detokenizer.h"
#include "engine/tokenizer.h"

namespace glaserve {

enum class FinishReason {
  kStop,          // EOS or one of stop_token_ids
  kLength,        // max_tokens reached
  kStopSequence,  // a stop string appeared in the text
  kCancelled,     // the client went away or its deadline passed
};

const char* FinishReasonName(FinishReason reason);  // "stop", "length", ...

struct GeneratedToken {
  int32_t token_id = 0;
  float logprob = 0;
  std::vector<TokenLogprob> top;  // empty unless logprobs were asked for
};

// What one step adds to a sequence's output.
struct SequenceDelta {
  std::string text;  // new text, complete UTF-8, never retracted later
  std::vector<GeneratedToken> tokens;
  std::optional<FinishReason> finish_reason;  // set on the last delta
};

class Sequence {
 public:
  // `params` must be valid (ValidateSamplingParams). `tokenizer` may be null for a
  // checkpoint without one: text is then empty and stop strings are not allowed.
  Sequence(std::vector<int32_t> prompt_token_ids, const SamplingParams& params,
           const Tokenizer* tokenizer, int32_t eos_token_id);

  const std::vector<int32_t>& prompt_token_ids() const { return prompt_token_ids_; }
  const std::vector<int32_t>& output_token_ids() const { return output_token_ids_; }
  const SamplingParams& params() const { return params_; }

  // Prefill progress: prompt tokens already pushed through the model.
  int64_t num_prefilled() const { return num_prefilled_; }
  bool prefill_done() const { return num_prefilled_ == static_cast<int64_t>(prompt_token_ids_.size()); }
  // Marks the first `num_tokens` prompt tokens as already in the state (a prefix-cache
  // hit); at least one must be left, since sampling needs the last one's logits.
  void SkipPromptTokens(int64_t num_tokens);
  // The next at most `max_tokens` prompt tokens, and marks them as prefilled.
  std::span<const int32_t> TakePromptPiece(int64_t max_tokens);

  // The token to feed for the next decode step: the last sampled one.
  int32_t last_token_id() const { return output_token_ids_.back(); }

  // Samples the next token from the logits of the last fed position and applies the
  // stopping rules. Must not be called once finished.
  SequenceDelta SampleNext(std::span<const float> logits);

  // The same for a token drawn elsewhere (on the device, from DeviceSampling()'s inputs).
  SequenceDelta AcceptToken(SampledToken sampled);
  // What the device needs to draw this sequence's next token; the spans point into
  // `storage`, which must outlive their use.
  struct DeviceSamplingStorage {
    std::vector<int32_t> penalty_token_ids, penalty_output_counts;
  };
  DeviceSamplingRequest DeviceSampling(DeviceSamplingStorage& storage) const;

  // Ends the sequence from outside (cancellation); returns the final delta.
  SequenceDelta Finish(FinishReason reason);

  bool finished() const { return finish_reason_.has_value(); }
  std::optional<FinishReason> finish_reason() const { return finish_reason_; }

 private:
  // Token ids that may not be sampled now (EOS and stop ids before min_tokens).
  std::span<const int32_t> BannedTokenIds() const;
  bool IsStopToken(int32_t token_id) const;
  // Flushes held-back text into `delta` and finishes with `reason`.
  void FinishInto(FinishReason reason, SequenceDelta& delta);

  std::vector<int32_t> prompt_token_ids_;
  SamplingParams params_;
  int32_t eos_token_id_;
  int64_t num_prefilled_ = 0;
  std::vector<int32_t> output_token_ids_;
  std::vector<int32_t> min_tokens_banned_ids_;
  Sampler sampler_;
  std::unique_ptr<StreamDetokenizer> detokenizer_;  // null without a tokenizer
  StopStringMatcher stop_matcher_;
  std::optional<FinishReason> finish_reason_;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_SEQUENCE_H_
