#include "server/request_conversion.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace glaserve {

SamplingParams ToSamplingParams(const v1::SamplingParams& s) {
  SamplingParams params;  // defaults for every field the client left unset
  if (s.has_max_tokens()) params.max_tokens = s.max_tokens();
  if (s.has_min_tokens()) params.min_tokens = s.min_tokens();
  if (s.has_temperature()) params.temperature = s.temperature();
  if (s.has_top_k()) params.top_k = s.top_k();
  if (s.has_top_p()) params.top_p = s.top_p();
  if (s.has_min_p()) params.min_p = s.min_p();
  if (s.has_repetition_penalty()) params.repetition_penalty = s.repetition_penalty();
  if (s.has_presence_penalty()) params.presence_penalty = s.presence_penalty();
  if (s.has_frequency_penalty()) params.frequency_penalty = s.frequency_penalty();
  if (s.has_seed()) params.seed = s.seed();
  params.stop.assign(s.stop().begin(), s.stop().end());
  params.stop_token_ids.assign(s.stop_token_ids().begin(), s.stop_token_ids().end());
  if (s.has_ignore_eos()) params.ignore_eos = s.ignore_eos();
  if (s.has_logprobs()) params.logprobs = s.logprobs();
  return params;
}

absl::StatusOr<GenerationRequest> ToGenerationRequest(const v1::GenerateRequest& request,
                                                      const Tokenizer* tokenizer) {
  const bool has_text = request.has_prompt();
  const bool has_ids = request.prompt_token_ids_size() > 0;
  // A continuation may send no new tokens, and its text gets no BOS: it is not a start.
  const bool continues = request.resume_session() || !request.initial_state().empty();
  if (has_text && has_ids) {
    return absl::InvalidArgumentError("prompt and prompt_token_ids are both set: give exactly one");
  }
  if (!has_text && !has_ids && !continues) {
    return absl::InvalidArgumentError("prompt: neither prompt nor prompt_token_ids is set (give exactly one)");
  }
  GenerationRequest out;
  out.request_id = request.request_id();
  out.session_id = request.session_id();
  out.resume_session = request.resume_session();
  out.return_state = request.return_state();
  out.initial_state = request.initial_state();
  if (has_text) {
    if (request.prompt().empty() && !continues) return absl::InvalidArgumentError("prompt: the prompt text is empty");
    if (tokenizer == nullptr) {
      return absl::InvalidArgumentError(
          "prompt: this model has no tokenizer; send prompt_token_ids instead");
    }
    out.prompt_token_ids = continues ? tokenizer->EncodeWithoutBos(request.prompt()) : tokenizer->Encode(request.prompt());
  } else if (has_ids) {
    out.prompt_token_ids.assign(request.prompt_token_ids().begin(), request.prompt_token_ids().end());
  }
  out.params = ToSamplingParams(request.sampling());
  if (!out.params.stop.empty() && tokenizer == nullptr) {
    return absl::InvalidArgumentError("sampling.stop: this model has no tokenizer, so stop strings cannot match");
  }
  return out;
}

v1::FinishReason ToProtoFinishReason(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return v1::FINISH_REASON_STOP;
    case FinishReason::kLength: return v1::FINISH_REASON_LENGTH;
    case FinishReason::kStopSequence: return v1::FINISH_REASON_STOP_SEQUENCE;
    case FinishReason::kCancelled: return v1::FINISH_REASON_CANCELLED;
  }
  return v1::FINISH_REASON_UNSPECIFIED;
}

}  // namespace glaserve
