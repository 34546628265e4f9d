// The state pass of the chunkwise GLA prefill (gla_chunkwise.cu) as a device function: the
// state entering every chunk and the final state. It runs inside GlaChunkPrepKernel
// (gla_chunkwise_prep.cu), beside the intra pass.
#ifndef GLASERVE_KERNELS_CUDA_GLA_CHUNKWISE_STATE_PASS_CUH_
#define GLASERVE_KERNELS_CUDA_GLA_CHUNKWISE_STATE_PASS_CUH_

#include <cstdint>

#include "kernels/cuda/gla_chunkwise_internal.cuh"

namespace glaserve::kernels::cuda::chunkwise {

// ---------------------------------------------------------------------------------------
// State pass: one block per (sequence, kv head, 64 dv rows, 64 dk columns), sequential
// over the sequence's chunks. Warp w owns state rows 16*(w%4).. and columns 32*(w/4)..
// as four 16x8 accumulator tiles.

struct StateSmem {
  float k_stage[2][kChunk][kTile];  // cp.async double buffer, fp32 as in memory
  float v_stage[2][kChunk][kTile];
  bf16 k_decayed[kChunk][kPitch];  // k_s * exp(b_c - b_s), [s][i]
  bf16 v[kChunk][kPitch];          // [s][j]
  bf16 entering[kTile][kPitch];    // the state entering the chunk, [j][i], on its way out
  float part_sums[4][kTile];       // log2 gate sums of each 16-token quarter
  float chunk_decay[kTile];        // exp(b_c)
};

template <int kHeadKDim, typename StateT>
__device__ void StatePass(const Plan& p, int block, char* smem_raw) {
  StateSmem& sm = *reinterpret_cast<StateSmem*>(smem_raw);
  const GlaChunkwiseArgs& args = p.args;
  constexpr int kTilesK = kHeadKDim / kTile;
  const int dv = args.head_v_dim, tiles_v = dv / kTile;
  const int tiles_per_seq = args.num_kv_heads * tiles_v * kTilesK;
  const SeqEntry seq = p.seqs[block / tiles_per_seq];
  int rest = block % tiles_per_seq;
  const int col0 = (rest % kTilesK) * kTile;
  rest /= kTilesK;
  const int row0 = (rest % tiles_v) * kTile;
  const int kv_head = rest / tiles_v;

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, tq = lane % 4;
  const int wr = (warp % 4) * 16, wc = (warp / 4) * 32;  // this warp's rows and columns in the tile
  const int chan = tid % kTile, quarter = tid / kTile;   // gate scan: one channel, 16 tokens
  const int num_chunks = (seq.num_tokens + kChunk - 1) / kChunk;

  const float* k_base = args.k + kv_head * kHeadKDim + col0;
  const float* v_base = args.v + static_cast<int64_t>(kv_head) * dv + row0;
  const float* a_base = args.log_gate + kv_head * kHeadKDim + col0 + chan;

  // k and v rows of chunk c into stage `stage`: this thread's 16-byte piece of rows
  // tid/16 + 16u (zero rows past the sequence's end).
  const int piece_row = tid / 16, piece_col = (tid % 16) * 4;
  auto issue_kv = [&](int c, int stage) {
    const int first = seq.token_start + c * kChunk, rows = min(kChunk, seq.num_tokens - c * kChunk);
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const int r = piece_row + 16 * u;
      const bool valid = r < rows;
      const int64_t token = first + (valid ? r : 0);
      CpAsync16(&sm.k_stage[stage][r][piece_col], k_base + token * args.k_stride + piece_col, valid);
      CpAsync16(&sm.v_stage[stage][r][piece_col], v_base + token * args.v_stride + piece_col, valid);
    }
  };
  // This thread's 16 gates of chunk c (zero past the sequence's end: no decay there).
  auto load_gates = [&](int c, float (&x)[16]) {
    const int first = seq.token_start + c * kChunk + quarter * 16;
    const int rows = seq.num_tokens - c * kChunk - quarter * 16;
    const float* a = a_base + static_cast<int64_t>(first) * args.log_gate_stride;
#pragma unroll
    for (int r = 0; r < 16; ++r) {
      x[r] = r < rows ? *a : 0.0f;
      a += args.log_gate_stride;
    }
  };

  StateT* slot_state = static_cast<StateT*>(args.state) + args.slots[seq.seq] * args.slot_stride +
                       (static_cast<int64_t>(kv_head) * dv + row0) * kHeadKDim + col0;
  float acc[4][4];
#pragma unroll
  for (int nt = 0; nt < 4; ++nt) {
    const int col = wc + nt * 8 + tq * 2;
    const float2 top = Load2(slot_state + (wr + g) * kHeadKDim + col);
    const float2 bottom = Load2(slot_state + (wr + g + 8) * kHeadKDim + col);
    acc[nt][0] = top.x, acc[nt][1] = top.y, acc[nt][2] = bottom.x, acc[nt][3] = bottom.y;
  }

  float gates_next[16];
  load_gates(0, gates_next);
  issue_kv(0, 0);
  CpAsyncCommit();

  for (int c = 0; c < num_chunks; ++c) {
    const int stage = c % 2;
    float gates[16];
#pragma unroll
    for (int r = 0; r < 16; ++r) gates[r] = gates_next[r];
    CpAsyncWait<0>();
    __syncthreads();  // chunk c landed; every warp is done with chunk c-1's buffers
    if (c + 1 < num_chunks) {
      load_gates(c + 1, gates_next);
      issue_kv(c + 1, stage ^ 1);
    }
    CpAsyncCommit();

    // Suffix sums within this thread's quarter, in place: gates[r] becomes the sum of the
    // (log2) gates after token r.
    float quarter_sum = 0;
#pragma unroll
    for (int r = 15; r >= 0; --r) {
      const float x = gates[r] * kLog2e;
      gates[r] = quarter_sum;
      quarter_sum += x;
    }
    sm.part_sums[quarter][chan] = quarter_sum;
    // The entering state, rounded to bf16, staged for a coalesced store.
#pragma unroll
    for (int nt = 0; nt < 4; ++nt) {
      const int col = wc + nt * 8 + tq * 2;
      Store2(&sm.entering[wr + g][col], acc[nt][0], acc[nt][1]);
      Store2(&sm.entering[wr + g + 8][col], acc[nt][2], acc[nt][3]);
    }
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const int id = tid + u * kThreads, r = id / 16, c4 = (id % 16) * 4;
      const float4 x = *reinterpret_cast<const float4*>(&sm.v_stage[stage][r][c4]);
      Store2(&sm.v[r][c4], x.x, x.y);
      Store2(&sm.v[r][c4 + 2], x.z, x.w);
    }
    __syncthreads();

    float later = 0, total = 0;  // gates of the later quarters; of the whole chunk
#pragma unroll
    for (int q4 = 0; q4 < 4; ++q4) {
      const float x = sm.part_sums[q4][chan];
      total += x;
      if (q4 > quarter) later += x;
    }
#pragma unroll
    for (int r = 0; r < 16; ++r) {
      const int s = quarter * 16 + r;
      sm.k_decayed[s][chan] = __float2bfloat16_rn(sm.k_stage[stage][s][chan] * Exp2(gates[r] + later));
    }
    if (quarter == 0) sm.chunk_decay[chan] = Exp2(total);
    bf16* record = p.chunk_states +
                   ((static_cast<int64_t>(seq.first_chunk + c) * args.num_kv_heads + kv_head) * dv + row0) *
                       kHeadKDim +
                   col0;
#pragma unroll
    for (int u = 0; u < 2; ++u) {
      const int id = tid + u * kThreads, r = id / 8, piece = (id % 8) * 8;
      *reinterpret_cast<uint4*>(record + r * kHeadKDim + piece) =
          *reinterpret_cast<const uint4*>(&sm.entering[r][piece]);
    }
    __syncthreads();

    // S = diag(exp(b_c)) S + v^T k_decayed: M = dv rows, N = dk columns, K = tokens.
#pragma unroll
    for (int nt = 0; nt < 4; ++nt) {
      const float2 d = *reinterpret_cast<const float2*>(&sm.chunk_decay[wc + nt * 8 + tq * 2]);
      acc[nt][0] *= d.x, acc[nt][1] *= d.y, acc[nt][2] *= d.x, acc[nt][3] *= d.y;
    }
#pragma unroll
    for (int ks = 0; ks < kChunk / 16; ++ks) {
      uint32_t a[4];
      LdMatrixX4Trans(a, AFragKMTrans(&sm.v[0][0], kPitch, wr, ks * 16, lane));
#pragma unroll
      for (int np = 0; np < 2; ++np) {
        uint32_t b[4];
        LdMatrixX4Trans(b, BFragKNTrans(&sm.k_decayed[0][0], kPitch, ks * 16, wc + np * 16, lane));
        Mma(acc[2 * np], a, b[0], b[1]);
        Mma(acc[2 * np + 1], a, b[2], b[3]);
      }
    }
  }

#pragma unroll
  for (int nt = 0; nt < 4; ++nt) {
    const int col = wc + nt * 8 + tq * 2;
    Store2(slot_state + (wr + g) * kHeadKDim + col, acc[nt][0], acc[nt][1]);
    Store2(slot_state + (wr + g + 8) * kHeadKDim + col, acc[nt][2], acc[nt][3]);
  }
}

}  // namespace glaserve::kernels::cuda::chunkwise

#endif  // GLASERVE_KERNELS_CUDA_GLA_CHUNKWISE_STATE_PASS_CUH_
