// One Generate stream: a server-write reactor fed by the engine through a sink. The
// engine never waits on the network: updates are merged into one pending response while
// a write is in flight (so a slow reader gets tokens coalesced), and exactly one write is
// in flight at a time. The pending response is bounded: once it holds
// `stream_buffer_bytes`, the reactor pauses its request in the engine (the client is not
// reading) until the write completes; a request paused past the engine's stall timeout is
// ended, and the stream finishes at once with that status. The reactor deletes itself in
// OnDone.
#ifndef GLASERVE_SERVER_GENERATE_REACTOR_H_
#define GLASERVE_SERVER_GENERATE_REACTOR_H_

#include <memory>
#include <mutex>

#include <grpcpp/grpcpp.h>

#include "engine/engine.h"
#include "glaserve/v1/glaserve.pb.h"

namespace glaserve {

class GenerateObserver;

// Default bound on a stream's unsent output (--stream-buffer-bytes).
inline constexpr int64_t kDefaultStreamBufferBytes = 64 << 10;

class GenerateReactor : public grpc::ServerWriteReactor<v1::GenerateResponse> {
 public:
  // Submits the request to the engine, or finishes at once with the refusal status.
  GenerateReactor(Engine& engine, GenerationRequest request, GenerateObserver* observer,
                  int64_t stream_buffer_bytes = kDefaultStreamBufferBytes);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  class Sink;
  // Merges an engine update into the pending response (engine thread).
  void Deliver(RequestUpdate update);
  // Starts the next write, or finishes the stream once the final update is written.
  void WriteOrFinishLocked();

  std::mutex mutex_;
  std::shared_ptr<Sink> sink_;
  std::shared_ptr<RequestHandle> handle_;  // guarded by mutex_
  std::string request_id_;
  bool logprobs_ = false;          // whether the client asked for logprobs
  int64_t stream_buffer_bytes_;    // pause the request when pending_ holds this much
  v1::GenerateResponse pending_;   // merged output not yet written; guarded by mutex_
  bool has_pending_ = false;       // guarded by mutex_
  int64_t pending_bytes_ = 0;      // about pending_'s encoded size; guarded by mutex_
  bool paused_ = false;            // whether we paused the request; guarded by mutex_
  v1::GenerateResponse in_flight_; // the message being written (must outlive the write)
  bool write_in_flight_ = false;   // guarded by mutex_
  bool final_received_ = false;    // guarded by mutex_
  bool finish_called_ = false;     // guarded by mutex_
  grpc::Status final_status_;      // guarded by mutex_
};

// Hook for metrics and logs; called on the engine thread, must not block.
class GenerateObserver {
 public:
  virtual ~GenerateObserver() = default;
  // `num_tokens` new tokens reached the stream; `since_last` is the gap since the
  // previous tokens of this stream (or since arrival, for the first).
  virtual void OnTokens(int64_t num_tokens, absl::Duration since_last, bool first) = 0;
  // The engine's last word on a request.
  virtual void OnFinished(const std::string& request_id, const RequestUpdate& final_update) = 0;
  // A request refused before reaching the engine (bad input, queue full, auth, drain).
  virtual void OnRejected(const grpc::Status& status) = 0;
};

}  // namespace glaserve

#endif  // GLASERVE_SERVER_GENERATE_REACTOR_H_
