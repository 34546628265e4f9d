// RMSNorm on the CPU: y = x / sqrt(mean(x^2) + eps) * weight, row by row, in fp32.
#ifndef GLASERVE_KERNELS_CPU_RMS_NORM_H_
#define GLASERVE_KERNELS_CPU_RMS_NORM_H_

#include <cstdint>

namespace glaserve::kernels {

// x and y are [rows, n] with leading dims x_ld and y_ld; they may alias.
void RmsNorm(const float* x, int64_t x_ld, const float* weight, int64_t rows, int64_t n, float eps,
             float* y, int64_t y_ld);

}  // namespace glaserve::kernels

#endif  // GLASERVE_KERNELS_CPU_RMS_NORM_H_
