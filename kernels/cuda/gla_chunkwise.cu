// Chunkwise GLA prefill (DESIGN.md section 3); the passes are described in the header.
// Within a chunk of c <= 64 tokens, b_t = a_1 + ... + a_t (per key channel, <= 0 and
// decreasing), and with the entering state S0 ([dv, dk], v-first):
//
//   o_t = (q_t * exp(b_t)) S0^T + sum_{s<=t} A[t, s] v_s,   A[t, s] = q_t . (k_s * exp(b_t - b_s))
//   S   = diag(exp(b_c)) S0 + sum_s v_s^T (k_s * exp(b_c - b_s))
//
// A is built per 16-token sub-chunk I: against earlier tokens through the reference
// point r = start(I) - 1 as a matmul of (q_t * exp(b_t - b_r)) and (k_s * exp(b_r - b_s));
// inside I's own 16x16 block, exp(b_t - b_s) is the running product of the per-token
// decays exp(a) (every factor <= 1). Gates are kept in log2 units so every exp is one ex2.
//
// Matmuls: mma.sync m16n8k16 (bf16 in, fp32 accumulate) fed by ldmatrix from padded
// shared-memory tiles (row pitch 72 or 136 bf16: conflict-free for 8 rows of 16 bytes).
//
// Files: gla_chunkwise_internal.cuh (the Plan and the device helpers), the state and intra
// passes (gla_chunkwise_state_pass.cuh, gla_chunkwise_intra_pass.cuh), launched together by
// gla_chunkwise_prep.cu, then the output pass (gla_chunkwise_output_pass.cu). This file: the
// scratch layout, the chunk table and the launcher.
#include "kernels/cuda/gla_chunkwise.h"

#include <algorithm>

#include "kernels/cuda/gla_chunkwise_internal.cuh"

namespace glaserve::kernels::cuda {
namespace {

using chunkwise::bf16;
using chunkwise::ChunkEntry;
using chunkwise::kChunk;
using chunkwise::kTile;
using chunkwise::Plan;
using chunkwise::SeqEntry;

constexpr size_t kAlign = 256;
size_t AlignUp(size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

struct ScratchLayout {
  size_t states, q_decayed, scores, total;
};
ScratchLayout LayoutFor(const GlaChunkwiseArgs& a, int64_t num_chunks) {
  ScratchLayout l;
  const size_t chunks = static_cast<size_t>(num_chunks);
  l.states = 0;
  l.q_decayed = AlignUp(chunks * a.num_kv_heads * a.head_v_dim * a.head_k_dim * sizeof(bf16));
  l.scores = l.q_decayed + AlignUp(chunks * a.num_heads * kChunk * a.head_k_dim * sizeof(bf16));
  l.total = l.scores + AlignUp(chunks * a.num_heads * kChunk * kChunk * sizeof(bf16));
  return l;
}

bool Aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

bool ValidShape(const GlaChunkwiseArgs& a) {
  if (a.num_heads <= 0 || a.num_kv_heads <= 0 || a.num_heads % a.num_kv_heads != 0) return false;
  if (a.head_k_dim != 64 && a.head_k_dim != 128 && a.head_k_dim != 256) return false;
  if (a.head_v_dim <= 0 || a.head_v_dim % kTile != 0) return false;
  return true;
}

bool ValidBuffers(const GlaChunkwiseArgs& a) {
  if (!a.q || !a.k || !a.v || !a.log_gate || !a.slots || !a.state || !a.out) return false;
  for (const float* p : {a.q, a.k, a.v, a.log_gate}) {
    if (!Aligned(p, 16)) return false;
  }
  for (int64_t stride : {a.q_stride, a.k_stride, a.v_stride, a.log_gate_stride}) {
    if (stride % 4 != 0) return false;
  }
  const size_t state_pair = a.state_dtype == StateDType::kF32 ? 8 : 4;
  return Aligned(a.out, 8) && a.out_stride % 2 == 0 && Aligned(a.state, state_pair) && a.slot_stride % 2 == 0;
}

}  // namespace

GlaChunkwiseWorkspace::~GlaChunkwiseWorkspace() {
  if (table_copied_) cudaEventDestroy(table_copied_);
  if (scratch_) cudaFree(scratch_);
  if (table_device_) cudaFree(table_device_);
  if (table_host_) cudaFreeHost(table_host_);
}

cudaError_t GlaChunkwiseWorkspace::EnsureScratch(size_t bytes) {
  if (bytes <= scratch_bytes_) return cudaSuccess;
  if (scratch_) {
    cudaError_t err = cudaFree(scratch_);  // waits for the work that still reads it
    scratch_ = nullptr, scratch_bytes_ = 0;
    if (err != cudaSuccess) return err;
  }
  cudaError_t err = cudaMalloc(&scratch_, bytes);
  if (err != cudaSuccess) {
    scratch_ = nullptr;
    return err;
  }
  scratch_bytes_ = bytes;
  return cudaSuccess;
}

cudaError_t GlaChunkwiseWorkspace::EnsureTable(size_t bytes) {
  if (bytes <= table_bytes_) return cudaSuccess;
  if (table_device_) cudaFree(table_device_);
  if (table_host_) cudaFreeHost(table_host_);
  table_device_ = table_host_ = nullptr;
  table_bytes_ = 0;
  bytes = std::max<size_t>(bytes * 2, 4096);  // room for the next few batches
  cudaError_t err = cudaMalloc(&table_device_, bytes);
  if (err == cudaSuccess) err = cudaMallocHost(&table_host_, bytes);
  if (err != cudaSuccess) return err;
  table_bytes_ = bytes;
  return cudaSuccess;
}

cudaError_t GlaChunkwiseWorkspace::Reserve(const GlaChunkwiseArgs& shape, int64_t max_tokens, int32_t max_seqs) {
  if (!ValidShape(shape) || max_tokens < 0 || max_seqs < 0) return cudaErrorInvalidValue;
  const int64_t max_chunks = max_tokens / kChunk + max_seqs;
  cudaError_t err = EnsureScratch(LayoutFor(shape, max_chunks).total);
  if (err != cudaSuccess) return err;
  return EnsureTable(static_cast<size_t>(max_seqs + max_chunks) * sizeof(ChunkEntry));
}

cudaError_t LaunchGlaChunkwise(const GlaChunkwiseArgs& args, const int32_t* seq_lengths, int32_t num_seqs,
                               GlaChunkwiseWorkspace& ws, cudaStream_t stream) {
  if (num_seqs < 0 || (num_seqs > 0 && seq_lengths == nullptr)) return cudaErrorInvalidValue;
  if (!ValidShape(args)) return cudaErrorInvalidValue;
  int64_t num_tokens = 0, num_chunks = 0;
  int32_t num_active = 0;
  for (int32_t i = 0; i < num_seqs; ++i) {
    if (seq_lengths[i] < 0) return cudaErrorInvalidValue;
    num_tokens += seq_lengths[i];
    num_chunks += (seq_lengths[i] + kChunk - 1) / kChunk;
    num_active += seq_lengths[i] > 0;
  }
  if (num_tokens > INT32_MAX) return cudaErrorInvalidValue;
  if (num_chunks == 0) return cudaSuccess;
  if (!ValidBuffers(args)) return cudaErrorInvalidValue;
  // Block counts must fit a 1-D grid.
  const int64_t state_blocks = static_cast<int64_t>(num_active) * args.num_kv_heads *
                               (args.head_v_dim / kTile) * (args.head_k_dim / kTile);
  if (state_blocks + num_chunks * args.num_heads * (args.head_v_dim / kTile) > INT32_MAX) {
    return cudaErrorInvalidValue;
  }

  // The chunk table: rebuilt and copied only when the lengths change (the layers of one
  // step share it). The pinned source is rewritten only after its previous copy is done.
  const size_t table_bytes = static_cast<size_t>(num_active + num_chunks) * sizeof(ChunkEntry);
  const bool same_table = ws.table_device_ != nullptr &&
                          ws.table_lengths_.size() == static_cast<size_t>(num_seqs) &&
                          std::equal(seq_lengths, seq_lengths + num_seqs, ws.table_lengths_.begin());
  if (!same_table) {
    if (ws.table_copied_ == nullptr) {
      cudaError_t err = cudaEventCreateWithFlags(&ws.table_copied_, cudaEventDisableTiming);
      if (err != cudaSuccess) return err;
    } else {
      cudaError_t err = cudaEventSynchronize(ws.table_copied_);
      if (err != cudaSuccess) return err;
    }
    ws.table_lengths_.clear();  // the device table is stale from here until the copy is queued
    cudaError_t err = ws.EnsureTable(table_bytes);
    if (err != cudaSuccess) return err;
    auto* seqs = static_cast<SeqEntry*>(ws.table_host_);
    auto* chunks = reinterpret_cast<ChunkEntry*>(seqs + num_active);
    int32_t token = 0, chunk = 0, active = 0;
    for (int32_t i = 0; i < num_seqs; ++i) {
      const int32_t length = seq_lengths[i];
      if (length == 0) continue;
      seqs[active++] = SeqEntry{token, length, chunk, i};
      for (int32_t start = 0; start < length; start += kChunk) {
        chunks[chunk++] = ChunkEntry{token + start, std::min<int32_t>(kChunk, length - start), i, 0};
      }
      token += length;
    }
    // Longest sequences first: their state-pass blocks start first and set the critical path.
    std::stable_sort(seqs, seqs + num_active,
                     [](const SeqEntry& x, const SeqEntry& y) { return x.num_tokens > y.num_tokens; });
    err = cudaMemcpyAsync(ws.table_device_, ws.table_host_, table_bytes, cudaMemcpyHostToDevice, stream);
    if (err != cudaSuccess) return err;
    err = cudaEventRecord(ws.table_copied_, stream);
    if (err != cudaSuccess) return err;
    ws.table_lengths_.assign(seq_lengths, seq_lengths + num_seqs);
  }

  const ScratchLayout layout = LayoutFor(args, num_chunks);
  cudaError_t err = ws.EnsureScratch(layout.total);
  if (err != cudaSuccess) return err;
  char* scratch = static_cast<char*>(ws.scratch_);
  Plan plan;
  plan.args = args;
  plan.seqs = static_cast<const SeqEntry*>(ws.table_device_);
  plan.chunks = reinterpret_cast<const ChunkEntry*>(plan.seqs + num_active);
  plan.chunk_states = reinterpret_cast<bf16*>(scratch + layout.states);
  plan.q_decayed = reinterpret_cast<bf16*>(scratch + layout.q_decayed);
  plan.scores = reinterpret_cast<bf16*>(scratch + layout.scores);
  plan.num_state_blocks = static_cast<int32_t>(state_blocks);
  err = chunkwise::LaunchPrepPasses(plan, static_cast<int>(num_chunks), stream);
  if (err != cudaSuccess) return err;
  return chunkwise::LaunchOutputPass(plan, static_cast<int>(num_chunks), stream);
}

}  // namespace glaserve::kernels::cuda
