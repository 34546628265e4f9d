#include "engine/state_blob.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/check.h"
#include "engine/crc32c.h"

namespace glaserve {
namespace {

static_assert(std::endian::native == std::endian::little, "the blob is written with memcpy: little-endian only");

constexpr char kMagic[8] = {'G', 'L', 'A', 'S', 'T', 'A', 'T', 'E'};
constexpr size_t kHeaderCrcOffset = 72;
constexpr size_t kReservedOffset = 76;  // 4 zero bytes, outside the header checksum

template <typename T>
void Put(std::string& out, size_t offset, T value) {
  std::memcpy(out.data() + offset, &value, sizeof(T));
}

template <typename T>
T Get(std::string_view in, size_t offset) {
  T value;
  std::memcpy(&value, in.data() + offset, sizeof(T));
  return value;
}

std::span<const std::byte> AsBytes(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

absl::Status Invalid(const std::string& why) { return absl::InvalidArgumentError("initial_state: " + why); }

}  // namespace

std::string SerializeState(const StateIdentity& identity, const SavedState& state) {
  CHECK_EQ(static_cast<int64_t>(state.bytes.size()), identity.state_bytes) << "SerializeState: wrong state size";
  CHECK_LE(identity.state_dtype.size(), 8u);
  std::string out(kStateBlobHeaderBytes + state.bytes.size(), '\0');
  std::memcpy(out.data(), kMagic, 8);
  Put<uint32_t>(out, 8, kStateBlobVersion);
  Put<uint32_t>(out, 12, kStateBlobHeaderBytes);
  Put<uint64_t>(out, 16, identity.model_fingerprint);
  std::memcpy(out.data() + 24, identity.state_dtype.data(), identity.state_dtype.size());
  Put<uint32_t>(out, 32, static_cast<uint32_t>(identity.num_layers));
  Put<uint32_t>(out, 36, static_cast<uint32_t>(identity.num_kv_heads));
  Put<uint32_t>(out, 40, static_cast<uint32_t>(identity.head_v_dim));
  Put<uint32_t>(out, 44, static_cast<uint32_t>(identity.head_k_dim));
  Put<int64_t>(out, 48, state.num_tokens);
  Put<int32_t>(out, 56, state.pending_token_id);
  Put<uint32_t>(out, 60, Crc32c(state.bytes));
  Put<uint64_t>(out, 64, state.bytes.size());
  Put<uint32_t>(out, kHeaderCrcOffset, Crc32c(AsBytes(std::string_view(out).substr(0, kHeaderCrcOffset))));
  std::memcpy(out.data() + kStateBlobHeaderBytes, state.bytes.data(), state.bytes.size());
  return out;
}

absl::StatusOr<SavedState> ParseState(const StateIdentity& identity, std::string_view blob) {
  if (blob.size() < kStateBlobHeaderBytes) {
    return Invalid(absl::StrCat(blob.size(), " bytes is too short to be a glaserve state (the header alone is ",
                                kStateBlobHeaderBytes, ")"));
  }
  if (std::memcmp(blob.data(), kMagic, 8) != 0) return Invalid("not a glaserve state (bad magic)");
  const uint32_t version = Get<uint32_t>(blob, 8);
  if (version != kStateBlobVersion || Get<uint32_t>(blob, 12) != kStateBlobHeaderBytes) {
    return Invalid(absl::StrCat("format version ", version, "; this server reads version ", kStateBlobVersion));
  }
  if (Get<uint32_t>(blob, kHeaderCrcOffset) != Crc32c(AsBytes(blob.substr(0, kHeaderCrcOffset)))) {
    return Invalid("the header is corrupt (checksum mismatch)");
  }
  if (Get<uint32_t>(blob, kReservedOffset) != 0) return Invalid("the header is corrupt (reserved bytes not zero)");
  const uint64_t fingerprint = Get<uint64_t>(blob, 16);
  if (fingerprint != identity.model_fingerprint) {
    return Invalid(absl::StrCat("the state comes from another model (fingerprint ", absl::Hex(fingerprint),
                                ", this server's model is ", absl::Hex(identity.model_fingerprint), ")"));
  }
  const std::string_view dtype_field = blob.substr(24, 8);
  const std::string dtype(dtype_field.substr(0, dtype_field.find('\0')));
  if (dtype_field.find_first_not_of('\0', dtype.size()) != std::string_view::npos) {
    return Invalid("the header is corrupt (bytes after the dtype name)");
  }
  if (dtype != identity.state_dtype) {
    return Invalid(absl::StrCat("the state is ", dtype, "; this server keeps ", identity.state_dtype, " states"));
  }
  const int64_t shape[4] = {Get<uint32_t>(blob, 32), Get<uint32_t>(blob, 36), Get<uint32_t>(blob, 40),
                            Get<uint32_t>(blob, 44)};
  const int64_t expected_shape[4] = {identity.num_layers, identity.num_kv_heads, identity.head_v_dim,
                                     identity.head_k_dim};
  if (!std::equal(shape, shape + 4, expected_shape)) {
    return Invalid(absl::StrCat("state shape [", shape[0], ", ", shape[1], ", ", shape[2], ", ", shape[3],
                                "] is not this model's [", expected_shape[0], ", ", expected_shape[1], ", ",
                                expected_shape[2], ", ", expected_shape[3], "]"));
  }
  const uint64_t payload_bytes = Get<uint64_t>(blob, 64);
  if (payload_bytes != static_cast<uint64_t>(identity.state_bytes) ||
      blob.size() != kStateBlobHeaderBytes + payload_bytes) {
    return Invalid(absl::StrCat(blob.size(), " bytes is the wrong size: a state of this model is ",
                                kStateBlobHeaderBytes + identity.state_bytes, " bytes"));
  }
  SavedState state;
  state.num_tokens = Get<int64_t>(blob, 48);
  state.pending_token_id = Get<int32_t>(blob, 56);
  if (state.num_tokens < 0 || state.num_tokens > kMaxStateTokens) {
    return Invalid(absl::StrCat("token count ", state.num_tokens, " is outside [0, ", kMaxStateTokens, "]"));
  }
  if (state.pending_token_id < -1 || state.pending_token_id >= identity.vocab_size) {
    return Invalid(absl::StrCat("pending token ", state.pending_token_id, " is outside the vocabulary [0, ",
                                identity.vocab_size, ")"));
  }
  const std::span<const std::byte> payload = AsBytes(blob.substr(kStateBlobHeaderBytes));
  if (Crc32c(payload) != Get<uint32_t>(blob, 60)) return Invalid("the state is corrupt (payload checksum mismatch)");
  state.bytes.assign(payload.begin(), payload.end());
  return state;
}

}  // namespace glaserve
