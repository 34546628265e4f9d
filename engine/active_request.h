// A request inside the engine: its sequence plus where its output goes. Owned by the
// scheduler, touched only on the engine thread.
#ifndef GLASERVE_ENGINE_ACTIVE_REQUEST_H_
#define GLASERVE_ENGINE_ACTIVE_REQUEST_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "engine/generation_request.h"
#include "engine/sequence.h"

namespace glaserve {

struct ActiveRequest {
  // The sequence is built in place: its detokenizer refers to its own prompt.
  ActiveRequest(GenerationRequest request, const Tokenizer* tokenizer, int32_t eos_token_id,
                std::shared_ptr<RequestSink> sink, std::shared_ptr<RequestHandle> handle)
      : request_id(std::move(request.request_id)),
        deadline(request.deadline),
        seq(std::move(request.prompt_token_ids), request.params, tokenizer, eos_token_id),
        sink(std::move(sink)),
        handle(std::move(handle)) {}

  std::string request_id;
  absl::Time deadline;
  Sequence seq;
  std::shared_ptr<RequestSink> sink;
  std::shared_ptr<RequestHandle> handle;
  std::optional<int32_t> slot;  // set while it holds a state slot
  RequestTimings timings;
  absl::Status end_status;  // the final update's status, once it is known
  SequenceDelta last_delta;  // the finishing step's output, sent with the final update
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_ACTIVE_REQUEST_H_
