// States after exact token prefixes, so that a prompt starting with a cached prefix is
// prefilled only past it. Pure bookkeeping of host memory: the engine copies states in
// and out of slots. Least recently used entries go first once the byte bound is reached.
//
// An entry is keyed by a hash of its token ids (FNV-1a, with the length), and a hit is
// confirmed by comparing every token, so a hash collision can only cost a miss.
// Lookup hashes the prompt once and probes each distinct cached length: O(prompt length
// + number of lengths + length of the hit).
#ifndef GLASERVE_ENGINE_PREFIX_STATE_CACHE_H_
#define GLASERVE_ENGINE_PREFIX_STATE_CACHE_H_

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/saved_state.h"

namespace glaserve {

class PrefixStateCache {
 public:
  // Bytes an entry is charged besides its state and key (list and map nodes).
  static constexpr int64_t kEntryOverheadBytes = 128;

  explicit PrefixStateCache(int64_t max_bytes);

  struct Hit {
    int64_t num_tokens = 0;  // the prefix length the state covers
    std::shared_ptr<const SavedState> state;
  };

  // The longest cached prefix of `tokens` that is at most `max_tokens` long; a hit
  // becomes the most recently used entry.
  std::optional<Hit> Lookup(std::span<const int32_t> tokens, int64_t max_tokens);

  bool Contains(std::span<const int32_t> prefix) const;

  // The longest common prefix of `tokens` with the key of any of the `max_entries` most
  // recently used entries: where a prompt branches off from one seen lately (and so where
  // a state is worth keeping for the next one). Bounded so that a cache of many small
  // states does not cost every admission a scan of all their keys.
  int64_t LongestSharedPrefix(std::span<const int32_t> tokens, int64_t max_entries = 64) const;

  // Keeps `state` as the state after `prefix` (replacing an entry with the same key),
  // then drops least recently used entries until the cache fits its bound. An entry
  // larger than the whole bound is not kept.
  void Insert(std::vector<int32_t> prefix, std::shared_ptr<const SavedState> state);

  int64_t num_bytes() const { return num_bytes_; }
  int64_t max_bytes() const { return max_bytes_; }
  int64_t num_entries() const { return static_cast<int64_t>(lru_.size()); }
  int64_t num_evictions() const { return num_evictions_; }

 private:
  struct Entry {
    std::vector<int32_t> key;
    uint64_t hash = 0;
    std::shared_ptr<const SavedState> state;
    int64_t bytes = 0;
  };
  using Key = std::pair<int64_t, uint64_t>;  // (length, hash)

  void Erase(std::list<Entry>::iterator it);

  int64_t max_bytes_;
  int64_t num_bytes_ = 0;
  int64_t num_evictions_ = 0;
  std::list<Entry> lru_;  // most recently used first
  absl::flat_hash_map<Key, std::list<Entry>::iterator> index_;
  std::map<int64_t, int32_t> num_entries_by_length_;  // the lengths Lookup probes
};

// FNV-1a of the token ids (see fnv1a.h).
uint64_t HashTokens(std::span<const int32_t> tokens);

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_PREFIX_STATE_CACHE_H_
