// Linear layers through cuBLAS: out[T, N] (+)= in[T, K] . W[N, K]^T with bf16 operands,
// fp32 accumulation and an fp32 output, so the residual stream and the GLA kernels' inputs
// stay fp32 while the weights (the bytes every decode step must read) stay bf16.
#ifndef GLASERVE_ENGINE_CUDA_CUBLAS_LINEAR_H_
#define GLASERVE_ENGINE_CUDA_CUBLAS_LINEAR_H_

#include <cublas_v2.h>
#include <cuda_bf16.h>

#include <cstdint>

namespace glaserve {

struct LinearArgs {
  int64_t num_rows = 0;  // T
  int64_t in_features = 0;   // K
  int64_t out_features = 0;  // N
  const __nv_bfloat16* in = nullptr;  // [T, K], rows in_stride apart
  int64_t in_stride = 0;
  const __nv_bfloat16* weight = nullptr;  // [N, K] row-major (as stored in checkpoints)
  float* out = nullptr;                   // [T, N], rows out_stride apart
  int64_t out_stride = 0;
  bool accumulate = false;  // out += ... (the residual add), else out = ...
};

// Runs on the handle's stream; aborts on a cuBLAS error (shapes are the runner's own).
void Linear(cublasHandle_t handle, const LinearArgs& args);

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_CUDA_CUBLAS_LINEAR_H_
