// Chunkwise GLA prefill on the GPU (DESIGN.md section 3): the GPU twin of
// kernels::GlaChunkwise for a whole packed batch of prompts (varlen), each sequence
// starting from its slot's state and leaving its final state there, in place.
//
// Three passes over chunks of 64 tokens (a sequence's last chunk may be partial; chunks
// never cross a sequence boundary), all matmuls on the tensor cores (bf16 operands,
// fp32 accumulation):
//   state pass   per (sequence, kv head, 64x64 state tile): sequential over the chunks,
//                the state tile in fp32 registers; records the state entering each chunk
//                (bf16, workspace) and writes the final state to the slot.
//   intra pass   per (chunk, query head): the decayed queries q * exp(b) and the
//                lower-triangular 64x64 scores A (16-token sub-chunks, every exponent <= 0).
//   output pass  per (chunk, query head, dv tile): o = (q * exp(b)) S0 + A v.
// The state and intra passes are independent and share one launch, so the intra work
// fills the SMs that the latency-bound state pass leaves idle.
//
// Precision: bf16 operands with fp32 accumulation; the carried state stays fp32 between
// chunks (bf16 only as a matmul operand and in the per-chunk record). Against the fp32 CPU
// reference (H100): relative-norm error 3.0-3.2e-3 on outputs, 2.2-2.8e-3 on final states.
#ifndef GLASERVE_KERNELS_CUDA_GLA_CHUNKWISE_H_
#define GLASERVE_KERNELS_CUDA_GLA_CHUNKWISE_H_

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <vector>
#if __cplusplus >= 202002L
#include <span>
#endif

#include "kernels/cuda/gla_decode.h"  // StateDType

namespace glaserve::kernels::cuda {

struct GlaChunkwiseArgs {
  int32_t num_heads = 0;     // H (query heads)
  int32_t num_kv_heads = 0;  // H_kv; query head h reads kv head h / (H / H_kv)
  int32_t head_k_dim = 0;    // dk: 64, 128 or 256
  int32_t head_v_dim = 0;    // dv: a multiple of 64 (64 to 512 tested)
  // Inputs in fp32, rows = packed tokens (sequences end to end); each *_stride is the
  // distance between rows in floats. Pointers 16-byte aligned, strides multiples of 4.
  const float* q = nullptr;  // [T, H, dk], already scaled by dk^-0.5
  int64_t q_stride = 0;
  const float* k = nullptr;  // [T, H_kv, dk]
  int64_t k_stride = 0;
  const float* v = nullptr;  // [T, H_kv, dv]
  int64_t v_stride = 0;
  const float* log_gate = nullptr;  // a: [T, H_kv, dk], every value <= 0
  int64_t log_gate_stride = 0;
  const int32_t* slots = nullptr;  // device [num_seqs]: state slot of each sequence, distinct
  // This layer's state of slot 0; slot s starts slot_stride elements further.
  // [slots, (L,) H_kv, dv, dk] in state_dtype, as for LaunchGlaDecode.
  void* state = nullptr;
  int64_t slot_stride = 0;
  StateDType state_dtype = StateDType::kF32;
  float* out = nullptr;  // [T, H, dv] fp32, o_t = q_t S_t (token t included); even stride
  int64_t out_stride = 0;
};

// Device scratch of the chunkwise launcher: the chunk table, the state entering every
// chunk ([chunks, H_kv, dv, dk] bf16), the decayed queries and the intra-chunk scores;
// for gla-1.3B about 19 KB per token of the batch (39 MB for 2K tokens).
// Grows on demand (a growth frees the old buffers, which waits for the device) and is
// reused across calls; calls that share a workspace must be ordered on one stream.
class GlaChunkwiseWorkspace {
 public:
  GlaChunkwiseWorkspace() = default;
  ~GlaChunkwiseWorkspace();
  GlaChunkwiseWorkspace(const GlaChunkwiseWorkspace&) = delete;
  GlaChunkwiseWorkspace& operator=(const GlaChunkwiseWorkspace&) = delete;

  // Optional: allocates now for calls of this shape (heads and head dims of `shape`) with
  // up to max_tokens tokens in up to max_seqs sequences, so that such calls allocate nothing.
  cudaError_t Reserve(const GlaChunkwiseArgs& shape, int64_t max_tokens, int32_t max_seqs);

  size_t device_bytes() const { return scratch_bytes_ + table_bytes_; }

 private:
  friend cudaError_t LaunchGlaChunkwise(const GlaChunkwiseArgs& args, const int32_t* seq_lengths,
                                        int32_t num_seqs, GlaChunkwiseWorkspace& workspace,
                                        cudaStream_t stream);
  cudaError_t EnsureScratch(size_t bytes);
  cudaError_t EnsureTable(size_t bytes);

  void* scratch_ = nullptr;  // device
  size_t scratch_bytes_ = 0;
  void* table_device_ = nullptr;
  void* table_host_ = nullptr;  // pinned: the source of the asynchronous table copy
  size_t table_bytes_ = 0;
  cudaEvent_t table_copied_ = nullptr;  // recorded after the last copy out of table_host_
  std::vector<int32_t> table_lengths_;  // the seq_lengths the device table holds
};

// Runs the chunkwise prefill of num_seqs packed sequences (seq_lengths on the host, zero
// lengths allowed) on `stream`, asynchronously: no device synchronisation except when the
// workspace grows. Returns cudaErrorInvalidValue for an unsupported shape, else the
// first allocation, copy or launch error.
cudaError_t LaunchGlaChunkwise(const GlaChunkwiseArgs& args, const int32_t* seq_lengths, int32_t num_seqs,
                               GlaChunkwiseWorkspace& workspace, cudaStream_t stream);

#if __cplusplus >= 202002L
inline cudaError_t LaunchGlaChunkwise(const GlaChunkwiseArgs& args, std::span<const int32_t> seq_lengths,
                                      GlaChunkwiseWorkspace& workspace, cudaStream_t stream) {
  return LaunchGlaChunkwise(args, seq_lengths.data(), static_cast<int32_t>(seq_lengths.size()), workspace,
                            stream);
}
#endif

}  // namespace glaserve::kernels::cuda

#endif  // GLASERVE_KERNELS_CUDA_GLA_CHUNKWISE_H_
