#include "kernels/cuda/embedding.h"

#include <cstdint>

namespace glaserve::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// Grid: (T, column blocks). kVectorized: D % 8 == 0 and the table is 16-byte aligned.
template <bool kVectorized>
__global__ void __launch_bounds__(kThreads) EmbeddingKernel(const EmbeddingArgs args) {
  const int64_t t = blockIdx.x;
  const int32_t id = args.token_ids[t];
  const int64_t d = args.hidden_size;
  float* out = args.out + t * d;
  const bool valid = args.vocab_size <= 0 || (id >= 0 && id < args.vocab_size);
  const __nv_bfloat16* row = args.table + static_cast<int64_t>(id) * d;
  const int64_t first = static_cast<int64_t>(blockIdx.y) * kThreads + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.y) * kThreads;
  if constexpr (kVectorized) {
    for (int64_t v = first; v < d / 8; v += step) {
      float4 lo = make_float4(0, 0, 0, 0), hi = lo;
      if (valid) {
        const uint4 bits = reinterpret_cast<const uint4*>(row)[v];
        const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&bits.x));
        const float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&bits.y));
        const float2 c = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&bits.z));
        const float2 e = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&bits.w));
        lo = make_float4(a.x, a.y, b.x, b.y);
        hi = make_float4(c.x, c.y, e.x, e.y);
      }
      reinterpret_cast<float4*>(out)[2 * v] = lo;
      reinterpret_cast<float4*>(out)[2 * v + 1] = hi;
    }
  } else {
    for (int64_t i = first; i < d; i += step) out[i] = valid ? __bfloat162float(row[i]) : 0.0f;
  }
}

}  // namespace

cudaError_t LaunchEmbedding(const EmbeddingArgs& args, cudaStream_t stream) {
  if (args.num_tokens <= 0) return cudaSuccess;
  if (args.hidden_size <= 0 || args.token_ids == nullptr || args.table == nullptr || args.out == nullptr) {
    return cudaErrorInvalidValue;
  }
  const bool vectorized = args.hidden_size % 8 == 0 && reinterpret_cast<uintptr_t>(args.table) % 16 == 0 &&
                          reinterpret_cast<uintptr_t>(args.out) % 16 == 0;
  const int64_t units = vectorized ? args.hidden_size / 8 : args.hidden_size;
  // One pass per thread is enough for D up to 2048 (vectorized); wider rows get more blocks.
  const dim3 grid(args.num_tokens, static_cast<unsigned>((units + kThreads - 1) / kThreads));
  if (vectorized) {
    EmbeddingKernel<true><<<grid, kThreads, 0, stream>>>(args);
  } else {
    EmbeddingKernel<false><<<grid, kThreads, 0, stream>>>(args);
  }
  return cudaGetLastError();
}

}  // namespace glaserve::kernels::cuda
