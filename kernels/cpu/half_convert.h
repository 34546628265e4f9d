// Conversions between fp32 and the 16-bit float formats stored in checkpoints.
#ifndef GLASERVE_KERNELS_CPU_HALF_CONVERT_H_
#define GLASERVE_KERNELS_CPU_HALF_CONVERT_H_

#include <bit>
#include <cmath>
#include <cstdint>

namespace glaserve::kernels {

// bf16 is the top half of an fp32: widening is a shift.
inline float Bf16ToFloat(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

// Round to nearest even, as PyTorch does; NaN stays NaN.
inline uint16_t FloatToBf16(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  if (std::isnan(value)) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

// IEEE half: 1 sign, 5 exponent, 10 mantissa bits, with subnormals.
inline float F16ToFloat(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1f;
  const uint32_t mantissa = bits & 0x3ff;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24.
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

}  // namespace glaserve::kernels

#endif  // GLASERVE_KERNELS_CPU_HALF_CONVERT_H_
