// Scalar activations shared by the CPU model code, written to stay finite for any input.
#ifndef GLASERVE_KERNELS_CPU_ACTIVATIONS_H_
#define GLASERVE_KERNELS_CPU_ACTIVATIONS_H_

#include <cmath>

namespace glaserve::kernels {

inline float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// x * sigmoid(x), also called swish.
inline float Silu(float x) { return x * Sigmoid(x); }

// log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): no overflow for large |x|.
inline float LogSigmoid(float x) { return std::fmin(x, 0.0f) - std::log1p(std::exp(-std::fabs(x))); }

}  // namespace glaserve::kernels

#endif  // GLASERVE_KERNELS_CPU_ACTIVATIONS_H_
