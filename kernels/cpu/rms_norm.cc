#include "kernels/cpu/rms_norm.h"

#include <cmath>

namespace glaserve::kernels {

void RmsNorm(const float* x, int64_t x_ld, const float* weight, int64_t rows, int64_t n, float eps,
             float* y, int64_t y_ld) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * x_ld;
    float* yr = y + r * y_ld;
    // Accumulate in double: a long row of large activations loses bits in fp32.
    double sum_squares = 0;
    for (int64_t i = 0; i < n; ++i) sum_squares += static_cast<double>(xr[i]) * xr[i];
    const float inv_rms = static_cast<float>(1.0 / std::sqrt(sum_squares / n + eps));
    for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * inv_rms * weight[i];
  }
}

}  // namespace glaserve::kernels
