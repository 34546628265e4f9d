// Turns API messages into engine requests: tokenizes the prompt, fills in sampling
// defaults, and answers bad input with INVALID_ARGUMENT naming the field. Range checks
// shared with the CLI live in the engine (ValidateSamplingParams, Engine::Submit).
#ifndef GLASERVE_SERVER_REQUEST_CONVERSION_H_
#define GLASERVE_SERVER_REQUEST_CONVERSION_H_

#include "absl/status/statusor.h"
#include "engine/generation_request.h"
#include "engine/tokenizer.h"
#include "glaserve/v1/glaserve.pb.h"

namespace glaserve {

// `tokenizer` may be null (a model without one): then only prompt_token_ids work. The
// continuation fields are copied as they are; the engine checks them (a 50 MB
// initial_state is copied once here).
absl::StatusOr<GenerationRequest> ToGenerationRequest(const v1::GenerateRequest& request,
                                                      const Tokenizer* tokenizer);

SamplingParams ToSamplingParams(const v1::SamplingParams& sampling);

v1::FinishReason ToProtoFinishReason(FinishReason reason);

}  // namespace glaserve

#endif  // GLASERVE_SERVER_REQUEST_CONVERSION_H_
