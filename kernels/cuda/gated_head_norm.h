// The GLA output norm and gate on the GPU (DESIGN.md section 1), per token t and head h:
//   y[j] = o[j] / sqrt(mean(o^2) + eps) * weight[j]        o = in[t, h*dv : (h+1)*dv]
//   out[t, h*dv + j] = bf16(y[j] * silu(gate[t, h*dv + j]))  (bf16(y[j]) when gate == nullptr)
// The norm is over dv within each head; the weight is shared by all heads.
//
// One warp per (token, head) row: it reduces the sum of squares with shuffles, then reads
// the row again (from L1) with the gate to scale, gate and round it. 16-byte loads and
// 8-byte stores when pointers, strides and dv allow.
#ifndef GLASERVE_KERNELS_CUDA_GATED_HEAD_NORM_H_
#define GLASERVE_KERNELS_CUDA_GATED_HEAD_NORM_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace glaserve::kernels::cuda {

struct GatedHeadNormArgs {
  int32_t num_tokens = 0;  // T
  int32_t num_heads = 0;   // H
  int32_t head_dim = 0;    // dv
  const float* in = nullptr;  // [T, H*dv] fp32 (the attention output)
  int64_t in_stride = 0;      // floats between tokens
  const float* weight = nullptr;  // [dv] fp32, shared by all heads
  float eps = 1e-6f;
  const float* gate = nullptr;  // [T, H*dv] fp32 (g_proj h), or nullptr for no output gate
  int64_t gate_stride = 0;      // floats between tokens
  __nv_bfloat16* out = nullptr; // [T, H*dv] bf16
  int64_t out_stride = 0;       // elements between tokens
};

// Checks the shape and launches on `stream`; returns the launch error, if any.
cudaError_t LaunchGatedHeadNorm(const GatedHeadNormArgs& args, cudaStream_t stream);

}  // namespace glaserve::kernels::cuda

#endif  // GLASERVE_KERNELS_CUDA_GATED_HEAD_NORM_H_
