#include "engine/prefix_state_cache.h"

#include <algorithm>

#include "engine/check.h"
#include "engine/fnv1a.h"

namespace glaserve {

uint64_t HashTokens(std::span<const int32_t> tokens) {
  uint64_t hash = kFnv1aOffset;
  for (int32_t id : tokens) hash = Fnv1aAppendToken(hash, id);
  return hash;
}

PrefixStateCache::PrefixStateCache(int64_t max_bytes) : max_bytes_(max_bytes) { CHECK_GE(max_bytes, 0); }

std::optional<PrefixStateCache::Hit> PrefixStateCache::Lookup(std::span<const int32_t> tokens,
                                                              int64_t max_tokens) {
  max_tokens = std::min<int64_t>(max_tokens, tokens.size());
  // The running hash at every cached length up to max_tokens, shortest first.
  std::vector<Key> probes;
  uint64_t hash = kFnv1aOffset;
  int64_t hashed = 0;
  for (const auto& [length, count] : num_entries_by_length_) {
    if (length > max_tokens) break;
    for (; hashed < length; ++hashed) hash = Fnv1aAppendToken(hash, tokens[hashed]);
    probes.push_back({length, hash});
  }
  // Longest first: the first verified match is the best.
  for (auto probe = probes.rbegin(); probe != probes.rend(); ++probe) {
    auto found = index_.find(*probe);
    if (found == index_.end()) continue;
    const std::vector<int32_t>& key = found->second->key;
    if (!std::equal(key.begin(), key.end(), tokens.begin())) continue;  // a hash collision
    lru_.splice(lru_.begin(), lru_, found->second);
    return Hit{probe->first, found->second->state};
  }
  return std::nullopt;
}

bool PrefixStateCache::Contains(std::span<const int32_t> prefix) const {
  auto found = index_.find(Key{static_cast<int64_t>(prefix.size()), HashTokens(prefix)});
  return found != index_.end() && std::ranges::equal(found->second->key, prefix);
}

int64_t PrefixStateCache::LongestSharedPrefix(std::span<const int32_t> tokens, int64_t max_entries) const {
  int64_t longest = 0;
  for (const Entry& entry : lru_) {
    if (max_entries-- <= 0) break;
    const auto [in_key, in_tokens] = std::ranges::mismatch(entry.key, tokens);
    longest = std::max<int64_t>(longest, in_key - entry.key.begin());
  }
  return longest;
}

void PrefixStateCache::Insert(std::vector<int32_t> prefix, std::shared_ptr<const SavedState> state) {
  CHECK(state != nullptr);
  const int64_t bytes = static_cast<int64_t>(state->bytes.size() + prefix.size() * sizeof(int32_t)) +
                        kEntryOverheadBytes;
  const Key key{static_cast<int64_t>(prefix.size()), HashTokens(prefix)};
  if (auto found = index_.find(key); found != index_.end()) Erase(found->second);
  if (bytes > max_bytes_) return;
  while (num_bytes_ + bytes > max_bytes_) {
    Erase(std::prev(lru_.end()));
    ++num_evictions_;
  }
  lru_.push_front({std::move(prefix), key.second, std::move(state), bytes});
  index_[key] = lru_.begin();
  ++num_entries_by_length_[key.first];
  num_bytes_ += bytes;
}

void PrefixStateCache::Erase(std::list<Entry>::iterator it) {
  const int64_t length = static_cast<int64_t>(it->key.size());
  index_.erase(Key{length, it->hash});
  if (--num_entries_by_length_[length] == 0) num_entries_by_length_.erase(length);
  num_bytes_ -= it->bytes;
  lru_.erase(it);
}

}  // namespace glaserve
