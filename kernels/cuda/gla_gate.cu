#include "kernels/cuda/gla_gate.h"

#include <cstdint>

namespace glaserve::kernels::cuda {
namespace {

constexpr int kThreads = 128;        // gate columns per block
constexpr int kTokensPerBlock = 8;   // tokens sharing each up_proj read
constexpr int kMaxLowRank = 64;

// log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), as kernels/cpu/activations.h: finite for any x.
__device__ inline float LogSigmoid(float x) { return fminf(x, 0.0f) - log1pf(expf(-fabsf(x))); }

// Grid: (token groups, column blocks).
template <bool kVectorized>
__global__ void __launch_bounds__(kThreads) GlaGateKernel(const GlaGateArgs args) {
  __shared__ float low_rank[kTokensPerBlock][kMaxLowRank];
  const int rank = args.low_rank_dim;
  const int64_t first_token = static_cast<int64_t>(blockIdx.x) * kTokensPerBlock;
  const int num_tokens = static_cast<int>(min(static_cast<int64_t>(kTokensPerBlock), args.num_tokens - first_token));
  for (int e = threadIdx.x; e < kTokensPerBlock * rank; e += kThreads) {
    const int t = e / rank, r = e % rank;
    low_rank[t][r] = t < num_tokens ? args.low_rank[(first_token + t) * args.low_rank_stride + r] : 0.0f;
  }
  __syncthreads();

  const int i = blockIdx.y * kThreads + threadIdx.x;
  if (i >= args.gate_dim) return;
  const float* up = args.up_proj + static_cast<int64_t>(i) * rank;
  float dot[kTokensPerBlock] = {};
  if constexpr (kVectorized) {
    for (int r = 0; r < rank; r += 4) {
      const float4 u = *reinterpret_cast<const float4*>(up + r);
#pragma unroll
      for (int t = 0; t < kTokensPerBlock; ++t) {
        dot[t] = fmaf(u.x, low_rank[t][r], dot[t]);
        dot[t] = fmaf(u.y, low_rank[t][r + 1], dot[t]);
        dot[t] = fmaf(u.z, low_rank[t][r + 2], dot[t]);
        dot[t] = fmaf(u.w, low_rank[t][r + 3], dot[t]);
      }
    }
  } else {
    for (int r = 0; r < rank; ++r) {
      const float u = up[r];
#pragma unroll
      for (int t = 0; t < kTokensPerBlock; ++t) dot[t] = fmaf(u, low_rank[t][r], dot[t]);
    }
  }
  const float bias = args.bias[i];
#pragma unroll
  for (int t = 0; t < kTokensPerBlock; ++t) {
    if (t < num_tokens) {
      args.out[(first_token + t) * args.out_stride + i] =
          fmaxf(LogSigmoid(dot[t] + bias) * args.inv_normalizer, args.clamp_min);
    }
  }
}

}  // namespace

cudaError_t LaunchGlaGate(const GlaGateArgs& args, cudaStream_t stream) {
  if (args.num_tokens <= 0) return cudaSuccess;
  if (args.low_rank_dim <= 0 || args.low_rank_dim > kMaxLowRank || args.gate_dim <= 0 || args.low_rank == nullptr ||
      args.up_proj == nullptr || args.bias == nullptr || args.out == nullptr) {
    return cudaErrorInvalidValue;
  }
  const bool vectorized = args.low_rank_dim % 4 == 0 && reinterpret_cast<uintptr_t>(args.up_proj) % 16 == 0;
  const dim3 grid((args.num_tokens + kTokensPerBlock - 1) / kTokensPerBlock,
                  (args.gate_dim + kThreads - 1) / kThreads);
  if (vectorized) {
    GlaGateKernel<true><<<grid, kThreads, 0, stream>>>(args);
  } else {
    GlaGateKernel<false><<<grid, kThreads, 0, stream>>>(args);
  }
  return cudaGetLastError();
}

}  // namespace glaserve::kernels::cuda
