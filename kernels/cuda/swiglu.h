// The SwiGLU activation of the GLA MLP on the GPU (DESIGN.md section 1), on the fused
// gate_proj/up_proj output [T, 2 * I] (gate half first):
//   out[t, j] = bf16(silu(in[t, j]) * in[t, width + j])
//
// Elementwise and memory-bound: each thread reads 4 gate and 4 up values (two 16-byte
// loads) and writes 4 bf16 (one 8-byte store) when pointers, strides and width allow.
#ifndef GLASERVE_KERNELS_CUDA_SWIGLU_H_
#define GLASERVE_KERNELS_CUDA_SWIGLU_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace glaserve::kernels::cuda {

struct SwiGluArgs {
  int32_t num_tokens = 0;  // T
  int32_t width = 0;       // I: the output width; the input row holds 2 * I
  const float* in = nullptr;  // [T, 2 * I] fp32: gate then up
  int64_t in_stride = 0;      // floats between tokens
  __nv_bfloat16* out = nullptr;  // [T, I] bf16
  int64_t out_stride = 0;        // elements between tokens
};

// Checks the shape and launches on `stream`; returns the launch error, if any.
cudaError_t LaunchSwiGlu(const SwiGluArgs& args, cudaStream_t stream);

}  // namespace glaserve::kernels::cuda

#endif  // GLASERVE_KERNELS_CUDA_SWIGLU_H_
