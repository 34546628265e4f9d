// What crosses the boundary between network threads and the engine thread: a request
// going in, updates coming out through the request's sink, and a handle to cancel it.
#ifndef GLASERVE_ENGINE_GENERATION_REQUEST_H_
#define GLASERVE_ENGINE_GENERATION_REQUEST_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/sampling_params.h"
#include "engine/sequence.h"

namespace glaserve {

struct GenerationRequest {
  std::string request_id;
  std::vector<int32_t> prompt_token_ids;  // already tokenized, BOS included if wanted
  SamplingParams params;
  absl::Time deadline = absl::InfiniteFuture();

  // Continuing a conversation (glaserve.proto says what a client sees). When any of these
  // continues from a kept state, prompt_token_ids hold only the new tokens and may be
  // empty: the state's pending token goes first.
  std::string session_id;       // keep the state after the reply under this id
  bool resume_session = false;  // continue from session_id's state (NOT_FOUND if none)
  bool return_state = false;    // send the state after the reply with the final update
  std::string initial_state;    // a serialized state (state_blob.h) to continue from
};

// The longest session id accepted.
inline constexpr size_t kMaxSessionIdBytes = 256;

// When the request passed each stage, for latency metrics and logs.
struct RequestTimings {
  absl::Time arrival;      // accepted by Submit
  absl::Time admitted;     // got a state slot (InfinitePast if never)
  absl::Time first_token;  // first token delivered (InfinitePast if none)
  absl::Time finished;
};

// One step's output for one request. The last update of a request has `final` set and
// carries the finish reason (or an error status), the token counts and the timings.
struct RequestUpdate {
  std::string text;
  std::vector<GeneratedToken> tokens;
  bool final = false;
  std::optional<FinishReason> finish_reason;
  // Non-OK when the request ended in error: DEADLINE_EXCEEDED, CANCELLED, or UNAVAILABLE
  // when the engine shut down under it.
  absl::Status status;
  int32_t prompt_tokens = 0;  // as the client sent them (a carried pending token not counted)
  int32_t completion_tokens = 0;
  int32_t cached_prompt_tokens = 0;  // prompt tokens whose state came from the prefix cache
  std::string state;  // with return_state and a normal end: the final state, serialized
  RequestTimings timings;
};

// Receives a request's updates, on the engine thread. Implementations must return
// quickly and never block (buffer, then hand over to the network thread).
class RequestSink {
 public:
  virtual ~RequestSink() = default;
  virtual void OnUpdate(RequestUpdate update) = 0;
};

// Shared between the caller and the engine: the caller cancels, the engine notices at
// its next step, frees the slot and sends the final update.
class RequestHandle {
 public:
  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

  // Backpressure from a consumer whose buffer is full (a client that stopped reading):
  // while paused the engine decodes no tokens for the request but keeps its slot. A pause
  // longer than EngineOptions::stall_timeout ends the request (RESOURCE_EXHAUSTED).
  void Pause() {
    int64_t not_paused = 0;
    paused_since_ns_.compare_exchange_strong(not_paused, absl::GetCurrentTimeNanos(),
                                             std::memory_order_relaxed);
  }
  void Resume() { paused_since_ns_.store(0, std::memory_order_relaxed); }
  bool paused() const { return paused_since_ns_.load(std::memory_order_relaxed) != 0; }
  // When the current pause began; InfiniteFuture when not paused.
  absl::Time paused_since() const {
    const int64_t ns = paused_since_ns_.load(std::memory_order_relaxed);
    return ns == 0 ? absl::InfiniteFuture() : absl::FromUnixNanos(ns);
  }

 private:
  std::atomic<bool> cancelled_{false};
  std::atomic<int64_t> paused_since_ns_{0};  // 0: not paused
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_GENERATION_REQUEST_H_
