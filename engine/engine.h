// The engine: one thread owns the model runner and every state (DESIGN.md section 5).
// Network threads hand requests in through Submit (thread-safe); tokens go back through
// each request's sink. A step is: admit (set up each new slot's state: zero, a cached
// prefix, a session's or an imported one) -> schedule -> run the model on the batch ->
// copy states into the prefix cache -> sample and deliver each new token -> retire
// finished sequences (keeping or exporting their states) and free their slots.
#ifndef GLASERVE_ENGINE_ENGINE_H_
#define GLASERVE_ENGINE_ENGINE_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/generation_request.h"
#include "engine/model.h"
#include "engine/scheduler.h"
#include "engine/state_reuse.h"

namespace glaserve {

struct EngineOptions {
  int64_t max_batch_tokens = 2048;  // tokens per step (decodes + prompt pieces)
  int32_t max_waiting = 256;        // requests that may wait for a slot; beyond: refused
  int64_t max_prompt_tokens = 1 << 20;
  StateReuseOptions reuse = {};  // prefix cache and sessions (both off by default)
  // A request paused (RequestHandle::Pause) this long is ended with RESOURCE_EXHAUSTED.
  absl::Duration stall_timeout = absl::Seconds(60);
};

// What one step did, for metrics.
struct StepStats {
  absl::Duration duration;
  int64_t num_decode_tokens = 0;
  int64_t num_prefill_tokens = 0;
  int32_t num_sequences = 0;
  PrefixCacheStats prefix_cache;  // lookups of the requests admitted in this step
};

// Observes the engine from its thread (metrics); must not block.
class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  virtual void OnStep(const StepStats& stats) = 0;
};

class Engine {
 public:
  // Takes the model; its runner's slot count is the number of concurrent sequences.
  Engine(LoadedModel model, EngineOptions options);
  ~Engine();  // stops the thread, ending what is left with UNAVAILABLE

  // Starts the engine thread. Without it, tests can drive Step() themselves.
  void Start();
  // Stops the thread; requests still waiting or running end with UNAVAILABLE.
  void Stop();

  // Thread-safe. Checks the request (INVALID_ARGUMENT naming the field; a bad or foreign
  // initial_state too), finds the state it continues from (NOT_FOUND for an unknown or
  // expired session, ABORTED for one another request holds), then queues it:
  // RESOURCE_EXHAUSTED when slots and waiting room are all taken, UNAVAILABLE when
  // draining or stopped. On success the sink gets every update, ending with a final one.
  absl::StatusOr<std::shared_ptr<RequestHandle>> Submit(GenerationRequest request,
                                                        std::shared_ptr<RequestSink> sink);

  // Refuse new requests from now on; those already in finish normally.
  void StartDrain();
  // Blocks until no request is waiting or running, or `timeout` passes; true if idle.
  bool WaitIdle(absl::Duration timeout);

  // One engine step; returns false when there was nothing to do. Call from one thread
  // only: the engine thread after Start(), or a test without it.
  bool Step();

  void set_observer(EngineObserver* observer) { observer_ = observer; }

  const LoadedModel& model() const { return model_; }
  const EngineOptions& options() const { return options_; }
  int32_t num_slots() const { return model_.runner->num_slots(); }
  // Snapshots, safe from any thread.
  int32_t num_slots_used() const { return num_slots_used_.load(std::memory_order_relaxed); }
  int32_t num_waiting() const { return num_waiting_.load(std::memory_order_relaxed); }
  int32_t num_running() const { return num_running_.load(std::memory_order_relaxed); }
  const StateReuse& reuse() const { return reuse_; }

 private:
  struct Incoming {
    GenerationRequest request;
    std::shared_ptr<RequestSink> sink;
    std::shared_ptr<RequestHandle> handle;
    absl::Time arrival;
    std::shared_ptr<const SavedState> initial_state;
  };

  absl::Status Validate(const GenerationRequest& request) const;
  void Loop();
  // Moves submitted requests into the scheduler.
  void TakeIncoming();
  // Ends cancelled, expired and stalled requests.
  void EndInterrupted(absl::Time now);
  // Sends final updates to finished requests and drops them.
  void Retire(absl::Time now);
  void EndAll(const absl::Status& status);
  void PublishCounts();

  LoadedModel model_;
  EngineOptions options_;
  Scheduler scheduler_;
  StateReuse reuse_;
  std::vector<float> logits_;  // [entries, vocab], reused across steps
  // Per-step inputs and outputs of sampling on the device (runners that do).
  std::vector<Sequence::DeviceSamplingStorage> sampling_storage_;
  std::vector<DeviceSamplingRequest> sampling_requests_;
  std::vector<SampledToken> sampled_;
  EngineObserver* observer_ = nullptr;

  std::mutex mutex_;
  std::condition_variable wake_;   // engine thread: new work or stop
  std::condition_variable idle_;   // WaitIdle: outstanding reached zero
  std::deque<Incoming> incoming_;  // guarded by mutex_
  int64_t num_outstanding_ = 0;    // submitted and not yet retired; guarded by mutex_
  bool draining_ = false;          // guarded by mutex_
  bool stopping_ = false;          // guarded by mutex_
  std::thread thread_;

  std::atomic<int32_t> num_slots_used_{0};
  std::atomic<int32_t> num_waiting_{0};
  std::atomic<int32_t> num_running_{0};
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_ENGINE_H_
