// Recurrent GLA decode on the GPU (DESIGN.md section 4): one token for each of many
// sequences, each at its own state slot, the state updated in place.
//
// Per kv head the state is dv rows of dk values ("v-first"). A warp owns whole rows: it
// scales a row by exp(a) elementwise, adds k * v_j, and reduces the row's dot product
// with each query head's q into o_j, so every state element is read once and written once
// per step. The step is memory-bound: the kernel streams the state with 16-byte accesses.
#ifndef GLASERVE_KERNELS_CUDA_GLA_DECODE_H_
#define GLASERVE_KERNELS_CUDA_GLA_DECODE_H_

#include <cuda_runtime.h>

#include <cstdint>

namespace glaserve::kernels::cuda {

enum class StateDType { kF32, kBF16 };

struct GlaDecodeArgs {
  int32_t batch = 0;         // sequences, one token each
  int32_t num_heads = 0;     // H (query heads)
  int32_t num_kv_heads = 0;  // H_kv; query head h reads kv head h / (H / H_kv)
  int32_t head_k_dim = 0;    // dk: 64, 128 or 256
  int32_t head_v_dim = 0;    // dv: any multiple of 8
  // Inputs in fp32, rows = sequences; each *_stride is the distance between rows in floats.
  const float* q = nullptr;  // [B, H, dk], already scaled by dk^-0.5
  int64_t q_stride = 0;
  const float* k = nullptr;  // [B, H_kv, dk]
  int64_t k_stride = 0;
  const float* v = nullptr;  // [B, H_kv, dv]
  int64_t v_stride = 0;
  const float* log_gate = nullptr;  // a: [B, H_kv, dk], <= 0
  int64_t log_gate_stride = 0;
  const int32_t* slots = nullptr;  // [B] state slot of each sequence
  // This layer's state of slot 0; slot s starts slot_stride elements further.
  // [slots, (L,) H_kv, dv, dk] in state_dtype.
  void* state = nullptr;
  int64_t slot_stride = 0;
  StateDType state_dtype = StateDType::kF32;
  float* out = nullptr;  // [B, H, dv] fp32
  int64_t out_stride = 0;
};

// Checks the shape and launches on `stream`; returns the launch error, if any.
cudaError_t LaunchGlaDecode(const GlaDecodeArgs& args, cudaStream_t stream);

}  // namespace glaserve::kernels::cuda

#endif  // GLASERVE_KERNELS_CUDA_GLA_DECODE_H_
