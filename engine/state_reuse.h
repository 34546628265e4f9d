// Moves states in and out of slots for reuse, between the engine's Forward calls:
//
// * the prefix cache: a prompt that starts with a cached prefix starts from that state
//   and prefills only the rest; prompts leave states behind at chosen positions;
// * sessions: the state after a reply is kept under a session id for the next turn;
// * export/import: the state after a reply goes back to the client serialized, and a
//   request can continue from such a blob on any replica of the same model.
//
// A reply ends right after its last token is sampled, so a kept state carries that token
// as pending (saved_state.h) and the continuing request feeds it first: a conversation
// continued turn by turn equals one generated from the whole history at once.
//
// Threads: Acquire and CheckRequest run on the caller's thread (so a bad session or blob
// is refused by Submit, before any token); everything else on the engine thread only.
#ifndef GLASERVE_ENGINE_STATE_REUSE_H_
#define GLASERVE_ENGINE_STATE_REUSE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/active_request.h"
#include "engine/model_runner.h"
#include "engine/prefix_state_cache.h"
#include "engine/session_store.h"
#include "engine/state_blob.h"

namespace glaserve {

struct StateReuseOptions {
  // Host memory for prefix states; 0 turns the prefix cache off.
  int64_t prefix_cache_bytes = 0;
  // A long prompt leaves a state at the last multiple of this many tokens before its end,
  // so prompts that share all but a short tail reuse it; 0: no such snapshot.
  int64_t prefix_cache_chunk_tokens = 1024;
  // Prefixes shorter than this are not worth a state copy.
  int64_t prefix_cache_min_tokens = 256;
  // Host memory for session states; 0 turns sessions off.
  int64_t session_bytes = 0;
  // A session not used for this long is gone.
  absl::Duration session_ttl = absl::Minutes(10);
};

// Prefix-cache outcomes since the last TakeStats, for metrics.
struct PrefixCacheStats {
  int32_t num_hits = 0;
  int32_t num_misses = 0;
  int64_t num_tokens_saved = 0;  // prompt tokens not prefilled thanks to hits
};

class StateReuse {
 public:
  StateReuse(ModelRunner& runner, StateIdentity identity, StateReuseOptions options);

  // Any thread. INVALID_ARGUMENT for inconsistent continuation fields; FAILED_PRECONDITION
  // for a session on a server without sessions.
  absl::Status CheckRequest(const GenerationRequest& request) const;
  // Any thread. The state `request` continues from: its initial_state parsed
  // (INVALID_ARGUMENT when it is not a state of this model), or its session's when
  // resuming (NOT_FOUND, ABORTED: session_store.h). A request with a session id holds the
  // session from here on: give it back with Retire, or AbandonSession if it never runs.
  absl::StatusOr<std::shared_ptr<const SavedState>> Acquire(const GenerationRequest& request, absl::Time now);
  void AbandonSession(const std::string& session_id, absl::Time now);

  // Engine thread. Sets up an admitted request's slot: its initial state, the longest
  // cached prefix of its prompt, or zero; and where its prompt should leave states.
  void PrepareSlot(ActiveRequest& request);
  // Engine thread, right after a Forward: completes the snapshot copies begun after the
  // previous one (they overlapped this Forward), then begins those of the requests that
  // reached a snapshot position in this step.
  void AfterForward(std::span<ActiveRequest* const> stepped);
  // Engine thread: completes the snapshot copies in flight and caches them.
  void FinishSnapshots();
  // Engine thread, when a request has just finished normally and wants its state. A
  // synchronous copy: the session must hold it before the final update goes out, since
  // the client's next turn may follow at once.
  void CaptureFinalState(ActiveRequest& request);
  // Engine thread, before a request's final update goes out: keeps its session (or lets
  // it go) and serializes the state the client asked for.
  void Retire(ActiveRequest& request, RequestUpdate& update, absl::Time now);

  PrefixCacheStats TakeStats();

  // Any thread (approximate snapshots for gauges).
  int64_t prefix_cache_bytes() const { return prefix_cache_bytes_.load(std::memory_order_relaxed); }
  int64_t prefix_cache_entries() const { return prefix_cache_entries_.load(std::memory_order_relaxed); }
  int64_t num_sessions(absl::Time now) const;
  int64_t session_bytes() const { return sessions_.num_bytes(); }
  const StateReuseOptions& options() const { return options_; }
  const StateIdentity& identity() const { return identity_; }

 private:
  struct PendingSnapshot {
    std::vector<int32_t> prefix;
    std::shared_ptr<SavedState> state;  // being filled by the runner
  };

  // Where a prompt that starts `num_cached` tokens in should leave states (ascending).
  std::deque<int64_t> ChooseSnapshotPositions(std::span<const int32_t> prompt, int64_t num_cached) const;
  void PublishCacheSize();

  ModelRunner& runner_;
  const StateIdentity identity_;
  const StateReuseOptions options_;
  std::unique_ptr<PrefixStateCache> prefix_cache_;  // null when off; engine thread
  mutable SessionStore sessions_;
  std::vector<PendingSnapshot> pending_;  // engine thread
  PrefixCacheStats stats_;                // engine thread
  std::atomic<int64_t> prefix_cache_bytes_{0};
  std::atomic<int64_t> prefix_cache_entries_{0};
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_STATE_REUSE_H_
