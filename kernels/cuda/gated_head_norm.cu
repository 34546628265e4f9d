#include "kernels/cuda/gated_head_norm.h"

#include <cstdint>

namespace glaserve::kernels::cuda {
namespace {

constexpr int kWarpSize = 32;
constexpr int kWarpsPerBlock = 4;

__device__ inline float WarpSum(float x) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

// x * sigmoid(x) written as kernels/cpu/activations.h writes it, so results round alike.
__device__ inline float Silu(float x) { return x * (1.0f / (1.0f + expf(-x))); }

// kVectorized: 4 elements per access (float4 in, 4 x bf16 = 8 bytes out).
template <bool kVectorized, bool kGated>
__global__ void __launch_bounds__(kWarpsPerBlock * kWarpSize) GatedHeadNormKernel(const GatedHeadNormArgs args) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarpSize;
  if (row >= static_cast<int64_t>(args.num_tokens) * args.num_heads) return;
  const int lane = threadIdx.x % kWarpSize;
  const int64_t t = row / args.num_heads, column = (row % args.num_heads) * args.head_dim;
  const int dv = args.head_dim;
  const float* in = args.in + t * args.in_stride + column;
  const float* gate = kGated ? args.gate + t * args.gate_stride + column : nullptr;
  __nv_bfloat16* out = args.out + t * args.out_stride + column;

  float sum_squares = 0;
  if constexpr (kVectorized) {
    for (int v = lane; v < dv / 4; v += kWarpSize) {
      const float4 x = reinterpret_cast<const float4*>(in)[v];
      sum_squares += x.x * x.x + x.y * x.y + x.z * x.z + x.w * x.w;
    }
  } else {
    for (int j = lane; j < dv; j += kWarpSize) sum_squares += in[j] * in[j];
  }
  const float inv_rms = 1.0f / sqrtf(WarpSum(sum_squares) / dv + args.eps);

  // Same order as the CPU runner: (x * inv_rms) * weight, then * silu(g), rounded once.
  if constexpr (kVectorized) {
    for (int v = lane; v < dv / 4; v += kWarpSize) {
      const float4 x = reinterpret_cast<const float4*>(in)[v];
      const float4 w = reinterpret_cast<const float4*>(args.weight)[v];
      float4 y = make_float4(x.x * inv_rms * w.x, x.y * inv_rms * w.y, x.z * inv_rms * w.z, x.w * inv_rms * w.w);
      if constexpr (kGated) {
        const float4 g = reinterpret_cast<const float4*>(gate)[v];
        y = make_float4(y.x * Silu(g.x), y.y * Silu(g.y), y.z * Silu(g.z), y.w * Silu(g.w));
      }
      const __nv_bfloat162 lo = __floats2bfloat162_rn(y.x, y.y);
      const __nv_bfloat162 hi = __floats2bfloat162_rn(y.z, y.w);
      uint2 bits;
      bits.x = *reinterpret_cast<const uint32_t*>(&lo);
      bits.y = *reinterpret_cast<const uint32_t*>(&hi);
      reinterpret_cast<uint2*>(out)[v] = bits;
    }
  } else {
    for (int j = lane; j < dv; j += kWarpSize) {
      float y = in[j] * inv_rms * args.weight[j];
      if constexpr (kGated) y *= Silu(gate[j]);
      out[j] = __float2bfloat16_rn(y);
    }
  }
}

template <bool kVectorized>
void Launch(const GatedHeadNormArgs& args, cudaStream_t stream) {
  const int64_t rows = static_cast<int64_t>(args.num_tokens) * args.num_heads;
  const unsigned blocks = static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
  if (args.gate != nullptr) {
    GatedHeadNormKernel<kVectorized, true><<<blocks, kWarpsPerBlock * kWarpSize, 0, stream>>>(args);
  } else {
    GatedHeadNormKernel<kVectorized, false><<<blocks, kWarpsPerBlock * kWarpSize, 0, stream>>>(args);
  }
}

}  // namespace

cudaError_t LaunchGatedHeadNorm(const GatedHeadNormArgs& args, cudaStream_t stream) {
  if (args.num_tokens <= 0) return cudaSuccess;
  if (args.num_heads <= 0 || args.head_dim <= 0 || args.in == nullptr || args.weight == nullptr ||
      args.out == nullptr) {
    return cudaErrorInvalidValue;
  }
  const bool gate_aligned =
      args.gate == nullptr || (args.gate_stride % 4 == 0 && reinterpret_cast<uintptr_t>(args.gate) % 16 == 0);
  const bool vectorized = args.head_dim % 4 == 0 && args.in_stride % 4 == 0 && args.out_stride % 4 == 0 &&
                          gate_aligned && reinterpret_cast<uintptr_t>(args.in) % 16 == 0 &&
                          reinterpret_cast<uintptr_t>(args.weight) % 16 == 0 &&
                          reinterpret_cast<uintptr_t>(args.out) % 8 == 0;
  if (vectorized) {
    Launch<true>(args, stream);
  } else {
    Launch<false>(args, stream);
  }
  return cudaGetLastError();
}

}  // namespace glaserve::kernels::cuda
