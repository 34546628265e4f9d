// CRC-32C against published check values, and the fast path against the table.
#include "engine/crc32c.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace glaserve {
namespace {

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

TEST(Crc32cTest, KnownValues) {
  EXPECT_EQ(Crc32c(Bytes("")), 0u);
  EXPECT_EQ(Crc32c(Bytes("123456789")), 0xe3069283u);  // the standard check value
  EXPECT_EQ(Crc32cExtendPortable(0, Bytes("123456789")), 0xe3069283u);
  const std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(Bytes(zeros)), 0x8a9136aau);  // RFC 3720, B.4
}

TEST(Crc32cTest, FastPathAndExtendAgreeWithTheTable) {
  std::mt19937 rng(5);
  std::vector<std::byte> data(10007);
  for (std::byte& b : data) b = static_cast<std::byte>(rng());
  const std::span<const std::byte> all(data);
  for (size_t n : {0, 1, 7, 8, 9, 63, 64, 1000, 10007}) {
    EXPECT_EQ(Crc32c(all.first(n)), Crc32cExtendPortable(0, all.first(n))) << n;
  }
  const uint32_t whole = Crc32c(all);
  EXPECT_EQ(Crc32cExtend(Crc32c(all.first(333)), all.subspan(333)), whole);
  data[5000] ^= std::byte{1};
  EXPECT_NE(Crc32c(all), whole);
}

}  // namespace
}  // namespace glaserve
