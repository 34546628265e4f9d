// A request inside the engine: its sequence plus where its output goes. Owned by the
// scheduler, touched only on the engine thread.
#ifndef GLASERVE_ENGINE_ACTIVE_REQUEST_H_
#define GLASERVE_ENGINE_ACTIVE_REQUEST_H_

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "engine/generation_request.h"
#include "engine/saved_state.h"
#include "engine/sequence.h"

namespace glaserve {

struct ActiveRequest {
  // The sequence is built in place: its detokenizer refers to its own prompt.
  ActiveRequest(GenerationRequest request, const Tokenizer* tokenizer, int32_t eos_token_id,
                std::shared_ptr<RequestSink> sink, std::shared_ptr<RequestHandle> handle)
      : request_id(std::move(request.request_id)),
        deadline(request.deadline),
        session_id(std::move(request.session_id)),
        return_state(request.return_state),
        seq(std::move(request.prompt_token_ids), request.params, tokenizer, eos_token_id),
        sink(std::move(sink)),
        handle(std::move(handle)) {}

  // Whether the state after the reply must be taken out of the slot when it ends.
  bool wants_final_state() const { return !session_id.empty() || return_state; }
  // Prompt tokens as the client sent them.
  int32_t num_client_prompt_tokens() const {
    const bool carried = initial_state != nullptr && initial_state->has_pending_token();
    return static_cast<int32_t>(seq.prompt_token_ids().size()) - (carried ? 1 : 0);
  }

  std::string request_id;
  absl::Time deadline;
  std::string session_id;  // held in the session store until the request ends
  bool return_state = false;
  // Set when continuing a session or an imported state: the slot starts from it, and the
  // prompt starts with its pending token. Null: the slot starts from zero or a cached prefix.
  std::shared_ptr<const SavedState> initial_state;
  Sequence seq;
  std::shared_ptr<RequestSink> sink;
  std::shared_ptr<RequestHandle> handle;
  std::optional<int32_t> slot;  // set while it holds a state slot
  int32_t num_cached_prompt_tokens = 0;  // prompt tokens skipped thanks to the prefix cache
  // Prompt positions (ascending) after which the slot's state goes into the prefix cache;
  // prompt pieces end there.
  std::deque<int64_t> snapshot_positions;
  // The state after the reply, taken when the request finished normally (for its session
  // or for export); null otherwise.
  std::shared_ptr<const SavedState> final_state;
  RequestTimings timings;
  absl::Status end_status;  // the final update's status, once it is known
  SequenceDelta last_delta;  // the finishing step's output, sent with the final update
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_ACTIVE_REQUEST_H_
