// Conversations kept on the server between requests: session id -> the state after the
// last reply (its pending token included, saved_state.h). A session expires when it has
// not been used for `ttl`, and the least recently used ones are dropped when the kept
// states would exceed `max_bytes`; either way a later resume gets NOT_FOUND, never a
// silent restart. Thread-safe: requests acquire sessions on network threads (so a bad id
// is refused before the request is queued) and the engine thread stores them.
//
// One request at a time per session: a session is held from Acquire to Release, and a
// second request for it meanwhile gets ABORTED (its turn would race the first's).
#ifndef GLASERVE_ENGINE_SESSION_STORE_H_
#define GLASERVE_ENGINE_SESSION_STORE_H_

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/saved_state.h"

namespace glaserve {

class SessionStore {
 public:
  // Bytes a session is charged besides its state (id, list and map nodes).
  static constexpr int64_t kSessionOverheadBytes = 256;

  SessionStore(int64_t max_bytes, absl::Duration ttl);

  // Holds session `id` for one request. With `resume`, returns its state: NOT_FOUND when
  // the id is unknown or expired. Without, the request starts (or replaces) the session
  // and gets null. ABORTED when another request holds the session.
  absl::StatusOr<std::shared_ptr<const SavedState>> Acquire(const std::string& id, bool resume, absl::Time now);

  // Ends a request's hold. A non-null `state` becomes the session's (the request ended
  // well); null leaves the session as it was before the request.
  void Release(const std::string& id, std::shared_ptr<const SavedState> state, absl::Time now);

  // Drops sessions unused for longer than the TTL. Acquire and Release do it too; this is
  // for readers of the counts below when no request comes.
  void Expire(absl::Time now);

  // Whether a state of `state_bytes` fits at all (else sessions are effectively off).
  bool Fits(int64_t state_bytes) const { return state_bytes + kSessionOverheadBytes <= max_bytes_; }

  int64_t num_sessions() const;
  int64_t num_bytes() const;
  absl::Duration ttl() const { return ttl_; }

 private:
  struct Session {
    std::string id;
    std::shared_ptr<const SavedState> state;
    absl::Time last_used;
    int64_t bytes = 0;
  };

  // Drops sessions unused for longer than the TTL (the oldest are at the back).
  void ExpireLocked(absl::Time now);
  void EraseLocked(std::list<Session>::iterator it);

  const int64_t max_bytes_;
  const absl::Duration ttl_;
  mutable std::mutex mutex_;
  std::list<Session> lru_;  // most recently used first; guarded by mutex_
  absl::flat_hash_map<std::string, std::list<Session>::iterator> index_;  // guarded by mutex_
  absl::flat_hash_set<std::string> held_;  // ids a request holds now; guarded by mutex_
  int64_t num_bytes_ = 0;  // guarded by mutex_
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_SESSION_STORE_H_
