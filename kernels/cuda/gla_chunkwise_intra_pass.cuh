// The intra pass of the chunkwise GLA prefill (gla_chunkwise.cu) as a device function: the
// decayed queries q * exp(b) and the intra-chunk scores A. It runs inside GlaChunkPrepKernel
// (gla_chunkwise_prep.cu), beside the state pass.
#ifndef GLASERVE_KERNELS_CUDA_GLA_CHUNKWISE_INTRA_PASS_CUH_
#define GLASERVE_KERNELS_CUDA_GLA_CHUNKWISE_INTRA_PASS_CUH_

#include <cstdint>

#include "kernels/cuda/gla_chunkwise_internal.cuh"

namespace glaserve::kernels::cuda::chunkwise {

// ---------------------------------------------------------------------------------------
// Intra pass: one block per (chunk, query head). Writes q * exp(b) and the blocks of A on
// and below the diagonal.

template <int kHeadKDim>
struct IntraSmem {
  float b[kChunk][kHeadKDim];          // log2 cumulative gates, inclusive
  float k_block[kSub][kHeadKDim];      // k rows of one diagonal sub-chunk
  bf16 q_ref[kChunk - kSub][kPitch];   // q_t * exp(b_t - b_r(t)) for t >= 16, one dk slice
  bf16 k_ref[96][kPitch];              // k_s * exp(b_r - b_s): r = 15 (rows 0-15), 31 (16-47), 47 (48-95)
};

__device__ inline int KRefRow(int sub) { return kSub * (sub - 1) * sub / 2; }  // 1 -> 0, 2 -> 16, 3 -> 48

template <int kHeadKDim>
__device__ void IntraPass(const Plan& p, int block, char* smem_raw) {
  IntraSmem<kHeadKDim>& sm = *reinterpret_cast<IntraSmem<kHeadKDim>*>(smem_raw);
  const GlaChunkwiseArgs& args = p.args;
  const int num_heads = args.num_heads;
  const int chunk_id = block / num_heads, head = block % num_heads;
  const int kv_head = head / (num_heads / args.num_kv_heads);
  const ChunkEntry chunk = p.chunks[chunk_id];
  const int n = chunk.num_tokens;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, tq = lane % 4;

  const float* q = args.q + head * kHeadKDim;
  const float* k = args.k + kv_head * kHeadKDim;
  auto q_row = [&](int t) { return q + static_cast<int64_t>(chunk.token_start + t) * args.q_stride; };
  auto k_row = [&](int t) { return k + static_cast<int64_t>(chunk.token_start + t) * args.k_stride; };
  const int64_t out_block = static_cast<int64_t>(chunk_id) * num_heads + head;
  bf16* q_decayed = p.q_decayed + out_block * kChunk * kHeadKDim;
  bf16* scores = p.scores + out_block * kChunk * kChunk;

  // Cumulative gates: thread = one channel and 64 / kParts tokens, parts joined after.
  {
    constexpr int kParts = kThreads / kHeadKDim, kRows = kChunk / kParts;
    const int i = tid % kHeadKDim, part = tid / kHeadKDim;
    const float* a = args.log_gate + kv_head * kHeadKDim + i;
    float run = 0;
#pragma unroll 16
    for (int r = 0; r < kRows; ++r) {
      const int t = part * kRows + r;
      run += t < n ? a[static_cast<int64_t>(chunk.token_start + t) * args.log_gate_stride] * kLog2e : 0.0f;
      sm.b[t][i] = run;
    }
    if (kParts > 1) {
      __syncthreads();
      float offset = 0;
      for (int q2 = 0; q2 < part; ++q2) offset += sm.b[(q2 + 1) * kRows - 1][i];
      __syncthreads();
      for (int r = 0; r < kRows; ++r) sm.b[part * kRows + r][i] += offset;
    }
    __syncthreads();
  }

  // Off-diagonal blocks (I, J), J < I, one warp each: warp 0 (1,0), 1-2 (2,0-1), 3-5 (3,0-2).
  const int sub_i = warp < 1 ? 1 : warp < 3 ? 2 : 3, sub_j = warp - KRefRow(sub_i) / kSub;
  float acc[2][4] = {};
  const int pair = tid % 32, row_group = tid / 32;
  for (int slice = 0; slice < kHeadKDim / kTile; ++slice) {
    const int ch = slice * kTile + pair * 2;
#pragma unroll
    for (int u = 0; u < kChunk / 8; ++u) {
      const int t = row_group + u * 8, sub = t / kSub;
      const bool valid = t < n;
      const float2 qv = valid ? Load2(q_row(t) + ch) : make_float2(0, 0);
      const float2 kv = valid ? Load2(k_row(t) + ch) : make_float2(0, 0);
      const float2 bt = Load2(&sm.b[t][ch]);
      Store2(q_decayed + t * kHeadKDim + ch, qv.x * Exp2(bt.x), qv.y * Exp2(bt.y));
      if (sub > 0) {
        const float2 br = Load2(&sm.b[sub * kSub - 1][ch]);
        Store2(&sm.q_ref[t - kSub][pair * 2], qv.x * Exp2(bt.x - br.x), qv.y * Exp2(bt.y - br.y));
      }
      for (int later = sub + 1; later < kChunk / kSub; ++later) {
        const float2 br = Load2(&sm.b[later * kSub - 1][ch]);
        Store2(&sm.k_ref[KRefRow(later) + t][pair * 2], kv.x * Exp2(br.x - bt.x), kv.y * Exp2(br.y - bt.y));
      }
    }
    __syncthreads();
    if (warp < 6) {
#pragma unroll
      for (int ks = 0; ks < kTile / 16; ++ks) {
        uint32_t a[4], b[4];
        LdMatrixX4(a, AFragRow(&sm.q_ref[0][0], kPitch, (sub_i - 1) * kSub, ks * 16, lane));
        LdMatrixX4(b, BFragNK(&sm.k_ref[0][0], kPitch, ks * 16, KRefRow(sub_i) + sub_j * kSub, lane));
        Mma(acc[0], a, b[0], b[1]);
        Mma(acc[1], a, b[2], b[3]);
      }
    }
    __syncthreads();
  }
  if (warp < 6) {
#pragma unroll
    for (int nt = 0; nt < 2; ++nt) {
      const int t = sub_i * kSub + g, s = sub_j * kSub + nt * 8 + tq * 2;
      Store2(scores + t * kChunk + s, acc[nt][0], acc[nt][1]);
      Store2(scores + (t + 8) * kChunk + s, acc[nt][2], acc[nt][3]);
    }
  }

  // Diagonal blocks: warp w owns rows w and 15 - w of each sub-chunk, lane = channels
  // lane + 32m; exp(b_t - b_s) is carried down s as a running product of exp(a_s).
  constexpr int kPerLane = kHeadKDim / 32;
  const int lo = warp, hi = kSub - 1 - warp;
  for (int sub = 0; sub < kChunk / kSub; ++sub) {
    const int base = sub * kSub;
    for (int id = tid; id < kSub * kHeadKDim / 4; id += kThreads) {
      const int r = id / (kHeadKDim / 4), c4 = (id % (kHeadKDim / 4)) * 4;
      const float4 x = base + r < n ? *reinterpret_cast<const float4*>(k_row(base + r) + c4)
                                    : make_float4(0, 0, 0, 0);
      *reinterpret_cast<float4*>(&sm.k_block[r][c4]) = x;
    }
    float q_lo[kPerLane], q_hi[kPerLane], e_lo[kPerLane], e_hi[kPerLane];
#pragma unroll
    for (int m = 0; m < kPerLane; ++m) {
      const int i = lane + 32 * m;
      q_lo[m] = base + lo < n ? q_row(base + lo)[i] : 0.0f;
      q_hi[m] = base + hi < n ? q_row(base + hi)[i] : 0.0f;
      e_lo[m] = 1, e_hi[m] = 1;
    }
    __syncthreads();
    float out_lo = 0, out_hi = 0;  // lane s ends up holding A[row][base + s]
#pragma unroll
    for (int s = kSub - 1; s >= 0; --s) {
      if (s > hi) continue;
      const bool with_lo = s <= lo;
      float dot_hi = 0, dot_lo = 0;
#pragma unroll
      for (int m = 0; m < kPerLane; ++m) {
        const float kv = sm.k_block[s][lane + 32 * m];
        dot_hi = fmaf(q_hi[m] * e_hi[m], kv, dot_hi);
        dot_lo = fmaf(q_lo[m] * e_lo[m], kv, dot_lo);
      }
      dot_hi = WarpSum(dot_hi);
      if (lane == s) out_hi = dot_hi;
      if (with_lo) {
        dot_lo = WarpSum(dot_lo);
        if (lane == s) out_lo = dot_lo;
      }
      if (s > 0) {
#pragma unroll
        for (int m = 0; m < kPerLane; ++m) {
          const int i = lane + 32 * m;
          const float decay = Exp2(sm.b[base + s][i] - sm.b[base + s - 1][i]);
          e_hi[m] *= decay;
          if (with_lo) e_lo[m] *= decay;
        }
      }
    }
    if (lane < kSub) {
      scores[(base + hi) * kChunk + base + lane] = __float2bfloat16_rn(out_hi);
      scores[(base + lo) * kChunk + base + lane] = __float2bfloat16_rn(out_lo);
    }
    __syncthreads();  // k_block is rewritten next
  }
}

}  // namespace glaserve::kernels::cuda::chunkwise

#endif  // GLASERVE_KERNELS_CUDA_GLA_CHUNKWISE_INTRA_PASS_CUH_
