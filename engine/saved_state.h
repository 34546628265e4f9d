// A sequence's state taken out of the runner, for the prefix cache, sessions and export.
// A GLA state is fixed-size, so a copy at any token boundary is all it takes to continue
// from there later, on this server or (serialized, state_blob.h) on another one.
#ifndef GLASERVE_ENGINE_SAVED_STATE_H_
#define GLASERVE_ENGINE_SAVED_STATE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace glaserve {

struct SavedState {
  // The slot's bytes as ModelRunner::ReadSlotState gives them: [L, H_kv, dv, dk] in the
  // runner's state dtype.
  std::vector<std::byte> bytes;
  // Tokens that went through the model to make this state.
  int64_t num_tokens = 0;
  // The last token sampled that has not gone through the model yet: a reply ends right
  // after sampling its last token, so whoever continues must feed it first. -1 for a
  // prefix-cache state, which ends exactly at a prompt position.
  int32_t pending_token_id = -1;

  bool has_pending_token() const { return pending_token_id >= 0; }
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_SAVED_STATE_H_
