// Bookkeeping of state slots: which of the runner's fixed number of states are held by
// running sequences. No device code; O(1) allocate and free.
#ifndef GLASERVE_ENGINE_STATE_POOL_H_
#define GLASERVE_ENGINE_STATE_POOL_H_

#include <cstdint>
#include <optional>
#include <vector>

namespace glaserve {

class StatePool {
 public:
  explicit StatePool(int32_t num_slots);

  // A free slot, or nullopt when all are held.
  std::optional<int32_t> Allocate();
  // Returns a held slot; freeing a free slot is a bug.
  void Free(int32_t slot);

  int32_t num_total() const { return static_cast<int32_t>(in_use_.size()); }
  int32_t num_used() const { return num_total() - static_cast<int32_t>(free_slots_.size()); }
  int32_t num_free() const { return static_cast<int32_t>(free_slots_.size()); }
  bool in_use(int32_t slot) const { return in_use_[slot]; }

 private:
  std::vector<int32_t> free_slots_;  // a stack: the most recently freed slot is reused first
  std::vector<bool> in_use_;
};

// How many slots fit in `state_memory_bytes` (at least 1 when any fits), capped by
// `max_seqs` when that is > 0.
int32_t SlotsForMemory(int64_t state_memory_bytes, int64_t state_bytes_per_sequence, int32_t max_seqs);

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_STATE_POOL_H_
