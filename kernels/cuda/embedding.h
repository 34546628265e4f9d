// Token embedding lookup on the GPU: out[t, :] = fp32(table[token_ids[t], :]).
//
// One block per token copies one table row: each thread widens 8 bf16 (one 16-byte load)
// into two float4 stores when the rows allow 16-byte accesses, one element at a time
// otherwise. Pure data movement: 2 bytes read and 4 written per element.
#ifndef GLASERVE_KERNELS_CUDA_EMBEDDING_H_
#define GLASERVE_KERNELS_CUDA_EMBEDDING_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace glaserve::kernels::cuda {

struct EmbeddingArgs {
  int32_t num_tokens = 0;               // T
  int32_t hidden_size = 0;              // D
  const int32_t* token_ids = nullptr;   // device [T]
  const __nv_bfloat16* table = nullptr; // [V, D] bf16
  float* out = nullptr;                 // [T, D] fp32, contiguous
  // V. When > 0, an id outside [0, V) gives a row of zeros instead of a read past the table.
  int32_t vocab_size = 0;
};

// Checks the shape and launches on `stream`; returns the launch error, if any.
cudaError_t LaunchEmbedding(const EmbeddingArgs& args, cudaStream_t stream);

}  // namespace glaserve::kernels::cuda

#endif  // GLASERVE_KERNELS_CUDA_EMBEDDING_H_
