// The serialized form of a SavedState (GenerateRequest.initial_state,
// GenerateResponse.state), so that any replica of the same model can continue a
// conversation. Little-endian, an 80-byte header then the raw state bytes:
//
//   offset size
//      0    8  magic "GLASTATE"
//      8    4  format version (1)
//     12    4  header bytes (80)
//     16    8  model fingerprint (model_fingerprint.h)
//     24    8  state dtype name, NUL-padded ("f32", "bf16")
//     32   16  L, H_kv, dv, dk (4 x u32)
//     48    8  tokens that went into the state
//     56    4  pending token id (-1: none)
//     60    4  CRC-32C of the payload
//     64    8  payload bytes (L * H_kv * dv * dk * dtype size)
//     72    4  CRC-32C of bytes [0, 72)
//     76    4  zero
//     80       payload: [L, H_kv, dv, dk], as ModelRunner::ReadSlotState lays it out
//
// A gla-1.3B fp32 state is 50.3 MB: it fits gRPC messages only because the server accepts
// up to --max-receive-message-bytes (64 MiB by default) and clients must raise their own
// receive limit (gRPC's default is 4 MiB) to get one back.
#ifndef GLASERVE_ENGINE_STATE_BLOB_H_
#define GLASERVE_ENGINE_STATE_BLOB_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/saved_state.h"

namespace glaserve {

// What a state must match to be loaded into a server's slots.
struct StateIdentity {
  uint64_t model_fingerprint = 0;
  std::string state_dtype;  // ModelRunner::state_dtype_name()
  int64_t num_layers = 0;
  int64_t num_kv_heads = 0;
  int64_t head_v_dim = 0;
  int64_t head_k_dim = 0;
  int64_t state_bytes = 0;  // ModelRunner::state_bytes_per_sequence()
  int64_t vocab_size = 0;   // bounds the pending token
};

inline constexpr size_t kStateBlobHeaderBytes = 80;
inline constexpr uint32_t kStateBlobVersion = 1;
// The most tokens a state may claim to hold: no real history comes near it (2.8e14), and
// it leaves room to count a continuation's tokens on top without overflow.
inline constexpr int64_t kMaxStateTokens = int64_t{1} << 48;

// `state.bytes` must be identity.state_bytes long.
std::string SerializeState(const StateIdentity& identity, const SavedState& state);

// Checks every header byte (against `identity`, its checksum, or zero where it is padding)
// and the payload's checksum: whatever it accepts, SerializeState writes back byte for
// byte. INVALID_ARGUMENT, with a message starting "initial_state: ", for a blob from
// another model or dtype, of the wrong size, corrupt, or not a state at all.
absl::StatusOr<SavedState> ParseState(const StateIdentity& identity, std::string_view blob);

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_STATE_BLOB_H_
