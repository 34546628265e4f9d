#include "kernels/cuda/swiglu.h"

#include <cstdint>

namespace glaserve::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// x * sigmoid(x) written as kernels/cpu/activations.h writes it, so results round alike.
__device__ inline float Silu(float x) { return x * (1.0f / (1.0f + expf(-x))); }

// Grid: (T, column blocks). kVectorized: 4 elements per access.
template <bool kVectorized>
__global__ void __launch_bounds__(kThreads) SwiGluKernel(const SwiGluArgs args) {
  const int64_t t = blockIdx.x;
  const float* gate = args.in + t * args.in_stride;
  const float* up = gate + args.width;
  __nv_bfloat16* out = args.out + t * args.out_stride;
  const int first = blockIdx.y * kThreads + threadIdx.x, step = gridDim.y * kThreads;
  if constexpr (kVectorized) {
    for (int v = first; v < args.width / 4; v += step) {
      const float4 g = reinterpret_cast<const float4*>(gate)[v];
      const float4 u = reinterpret_cast<const float4*>(up)[v];
      const __nv_bfloat162 lo = __floats2bfloat162_rn(Silu(g.x) * u.x, Silu(g.y) * u.y);
      const __nv_bfloat162 hi = __floats2bfloat162_rn(Silu(g.z) * u.z, Silu(g.w) * u.w);
      uint2 bits;
      bits.x = *reinterpret_cast<const uint32_t*>(&lo);
      bits.y = *reinterpret_cast<const uint32_t*>(&hi);
      reinterpret_cast<uint2*>(out)[v] = bits;
    }
  } else {
    for (int j = first; j < args.width; j += step) out[j] = __float2bfloat16_rn(Silu(gate[j]) * up[j]);
  }
}

}  // namespace

cudaError_t LaunchSwiGlu(const SwiGluArgs& args, cudaStream_t stream) {
  if (args.num_tokens <= 0) return cudaSuccess;
  if (args.width <= 0 || args.in == nullptr || args.out == nullptr) return cudaErrorInvalidValue;
  const bool vectorized = args.width % 4 == 0 && args.in_stride % 4 == 0 && args.out_stride % 4 == 0 &&
                          reinterpret_cast<uintptr_t>(args.in) % 16 == 0 &&
                          reinterpret_cast<uintptr_t>(args.out) % 8 == 0;
  const int units = vectorized ? args.width / 4 : args.width;
  // Two accesses per thread: few blocks per token at decode, plenty of tokens at prefill.
  const int column_blocks = (units + 2 * kThreads - 1) / (2 * kThreads);
  const dim3 grid(args.num_tokens, column_blocks);
  if (vectorized) {
    SwiGluKernel<true><<<grid, kThreads, 0, stream>>>(args);
  } else {
    SwiGluKernel<false><<<grid, kThreads, 0, stream>>>(args);
  }
  return cudaGetLastError();
}

}  // namespace glaserve::kernels::cuda
