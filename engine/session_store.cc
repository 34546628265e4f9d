#include "engine/session_store.h"

#include "absl/strings/str_cat.h"
#include "engine/check.h"

namespace glaserve {

SessionStore::SessionStore(int64_t max_bytes, absl::Duration ttl) : max_bytes_(max_bytes), ttl_(ttl) {
  CHECK_GE(max_bytes, 0);
}

absl::StatusOr<std::shared_ptr<const SavedState>> SessionStore::Acquire(const std::string& id, bool resume,
                                                                        absl::Time now) {
  std::lock_guard<std::mutex> lock(mutex_);
  ExpireLocked(now);
  if (held_.contains(id)) {
    return absl::AbortedError(absl::StrCat("session_id \"", id,
                                           "\" is in use by another request; send the next turn after it ends"));
  }
  std::shared_ptr<const SavedState> state;
  if (resume) {
    auto found = index_.find(id);
    if (found == index_.end()) {
      return absl::NotFoundError(absl::StrCat(
          "session_id \"", id, "\" is unknown or expired (sessions last ", absl::FormatDuration(ttl_),
          " after their last use and the oldest are dropped when session memory is full); start it again "
          "with resume_session=false and the whole conversation"));
    }
    state = found->second->state;
    found->second->last_used = now;
    lru_.splice(lru_.begin(), lru_, found->second);
  }
  held_.insert(id);
  return state;
}

void SessionStore::Release(const std::string& id, std::shared_ptr<const SavedState> state, absl::Time now) {
  std::lock_guard<std::mutex> lock(mutex_);
  CHECK(held_.erase(id) == 1) << "session " << id << " released without being held";
  if (state == nullptr) return;
  if (auto found = index_.find(id); found != index_.end()) EraseLocked(found->second);
  const int64_t bytes = static_cast<int64_t>(state->bytes.size() + id.size()) + kSessionOverheadBytes;
  if (bytes > max_bytes_) return;
  while (num_bytes_ + bytes > max_bytes_) EraseLocked(std::prev(lru_.end()));
  lru_.push_front({id, std::move(state), now, bytes});
  index_[id] = lru_.begin();
  num_bytes_ += bytes;
  ExpireLocked(now);
}

void SessionStore::ExpireLocked(absl::Time now) {
  while (!lru_.empty() && now - lru_.back().last_used > ttl_) EraseLocked(std::prev(lru_.end()));
}

void SessionStore::EraseLocked(std::list<Session>::iterator it) {
  index_.erase(it->id);
  num_bytes_ -= it->bytes;
  lru_.erase(it);
}

void SessionStore::Expire(absl::Time now) {
  std::lock_guard<std::mutex> lock(mutex_);
  ExpireLocked(now);
}

int64_t SessionStore::num_sessions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(lru_.size());
}

int64_t SessionStore::num_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return num_bytes_;
}

}  // namespace glaserve
