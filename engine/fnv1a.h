// FNV-1a, 64-bit: a cheap, well-spread hash for keys and fingerprints (not a checksum of
// untrusted data: that is CRC32C, see crc32c.h). Incremental, so a running hash over a
// token sequence gives the hash of every prefix on the way.
#ifndef GLASERVE_ENGINE_FNV1A_H_
#define GLASERVE_ENGINE_FNV1A_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace glaserve {

inline constexpr uint64_t kFnv1aOffset = 14695981039346656037ULL;
inline constexpr uint64_t kFnv1aPrime = 1099511628211ULL;

inline uint64_t Fnv1aAppend(uint64_t hash, std::span<const std::byte> bytes) {
  for (std::byte b : bytes) hash = (hash ^ static_cast<uint8_t>(b)) * kFnv1aPrime;
  return hash;
}

inline uint64_t Fnv1aAppend(uint64_t hash, std::string_view text) {
  return Fnv1aAppend(hash, std::as_bytes(std::span<const char>(text.data(), text.size())));
}

// One token id, as its 4 little-endian bytes.
inline uint64_t Fnv1aAppendToken(uint64_t hash, int32_t token_id) {
  uint32_t v = static_cast<uint32_t>(token_id);
  for (int i = 0; i < 4; ++i, v >>= 8) hash = (hash ^ (v & 0xff)) * kFnv1aPrime;
  return hash;
}

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_FNV1A_H_
