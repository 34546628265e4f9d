// The GLA forget gate on the GPU (DESIGN.md section 1), from the low-rank projection
// output gk_proj.0(h) [T, R]:
//   out[t, i] = max(logsigmoid(sum_r up_proj[i, r] * low_rank[t, r] + bias[i]) * inv_normalizer,
//                   clamp_min)
// i.e. gk_proj.1 (a rank-R matmul, R <= 64) fused with its bias, the logsigmoid, the 1/16
// normalizer and the optional clamp, so the [T, H_kv*dk] pre-activation never reaches memory.
//
// A block owns kTokensPerBlock tokens and 128 gate columns: it stages the tokens' low-rank
// rows in shared memory, and each thread reads its up_proj row once and keeps one dot
// product per token in registers, so the [gate_dim, R] up_proj is read once per token group.
#ifndef GLASERVE_KERNELS_CUDA_GLA_GATE_H_
#define GLASERVE_KERNELS_CUDA_GLA_GATE_H_

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

namespace glaserve::kernels::cuda {

struct GlaGateArgs {
  int32_t num_tokens = 0;    // T
  int32_t low_rank_dim = 0;  // R <= 64
  int32_t gate_dim = 0;      // H_kv * dk
  const float* low_rank = nullptr;  // [T, R] fp32
  int64_t low_rank_stride = 0;      // floats between tokens
  const float* up_proj = nullptr;   // [gate_dim, R] fp32 (gk_proj.1.weight)
  const float* bias = nullptr;      // [gate_dim] fp32 (gk_proj.1.bias)
  float inv_normalizer = 1.0f / 16;
  float clamp_min = -INFINITY;      // -inf = no clamp
  float* out = nullptr;             // [T, gate_dim] fp32, <= 0
  int64_t out_stride = 0;           // floats between tokens
};

// Checks the shape and launches on `stream`; returns the launch error, if any.
cudaError_t LaunchGlaGate(const GlaGateArgs& args, cudaStream_t stream);

}  // namespace glaserve::kernels::cuda

#endif  // GLASERVE_KERNELS_CUDA_GLA_GATE_H_
