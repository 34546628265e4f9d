// Fuzz target: GenerateRequest.initial_state bytes as ParseState imports them, for a
// fixed small model (state_blob_fuzz_model.h). A refused blob must come back as
// INVALID_ARGUMENT naming initial_state; an accepted one must be a state of exactly this
// model that the exporter writes back byte for byte (nothing in it goes unchecked).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/strings/match.h"
#include "engine/state_blob.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/state_blob_fuzz_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const glaserve::StateIdentity identity = glaserve::fuzz::StateBlobFuzzIdentity();
  const std::string_view blob(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<glaserve::SavedState> state = glaserve::ParseState(identity, blob);
  if (!state.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(state.status()));
    FUZZ_CHECK(absl::StartsWith(state.status().message(), "initial_state: "));
    return 0;
  }
  FUZZ_CHECK(static_cast<int64_t>(state->bytes.size()) == identity.state_bytes);
  FUZZ_CHECK(state->num_tokens >= 0 && state->num_tokens <= glaserve::kMaxStateTokens);
  FUZZ_CHECK(state->pending_token_id >= -1 && state->pending_token_id < identity.vocab_size);
  FUZZ_CHECK(glaserve::SerializeState(identity, *state) == blob);
  return 0;
}
