#include "engine/state_pool.h"

#include <algorithm>

#include "engine/check.h"

namespace glaserve {

StatePool::StatePool(int32_t num_slots) : in_use_(num_slots, false) {
  CHECK_GT(num_slots, 0);
  free_slots_.reserve(num_slots);
  // Pushed in reverse so slot 0 is handed out first.
  for (int32_t slot = num_slots - 1; slot >= 0; --slot) free_slots_.push_back(slot);
}

std::optional<int32_t> StatePool::Allocate() {
  if (free_slots_.empty()) return std::nullopt;
  const int32_t slot = free_slots_.back();
  free_slots_.pop_back();
  in_use_[slot] = true;
  return slot;
}

void StatePool::Free(int32_t slot) {
  CHECK(slot >= 0 && slot < num_total()) << "slot " << slot << " out of range";
  CHECK(in_use_[slot]) << "slot " << slot << " freed twice";
  in_use_[slot] = false;
  free_slots_.push_back(slot);
}

int32_t SlotsForMemory(int64_t state_memory_bytes, int64_t state_bytes_per_sequence, int32_t max_seqs) {
  CHECK_GT(state_bytes_per_sequence, 0);
  int64_t slots = state_memory_bytes / state_bytes_per_sequence;
  if (max_seqs > 0) slots = std::min<int64_t>(slots, max_seqs);
  return static_cast<int32_t>(std::clamp<int64_t>(slots, 0, 1 << 20));
}

}  // namespace glaserve
