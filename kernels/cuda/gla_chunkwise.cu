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
#include "kernels/cuda/gla_chunkwise.h"

#include <cuda_bf16.h>

#include <algorithm>

namespace glaserve::kernels::cuda {
namespace {

constexpr int kChunk = 64;         // tokens per chunk (DESIGN.md section 3)
constexpr int kSub = 16;           // tokens per sub-chunk
constexpr int kThreads = 256;      // every kernel: 8 warps
constexpr int kTile = 64;          // state-pass tile: 64 dv rows x 64 dk columns; dk slice width
constexpr int kPitch = kTile + 8;  // bf16 row pitch of a 64-wide operand tile
constexpr int kOutStages = 3;      // cp.async pipeline depth of the output pass
constexpr float kLog2e = 1.4426950408889634f;

using bf16 = __nv_bfloat16;

struct SeqEntry {  // one per sequence, longest first (the state pass's block order)
  int32_t token_start, num_tokens, first_chunk, seq;
};
struct ChunkEntry {  // one per chunk, in packed order; its index names its workspace rows
  int32_t token_start, num_tokens, seq, unused;
};

// Everything a launch needs, device pointers included; passed to the kernels by value.
struct Plan {
  GlaChunkwiseArgs args;
  const SeqEntry* seqs;
  const ChunkEntry* chunks;
  bf16* chunk_states;  // [chunks, H_kv, dv, dk] state entering each chunk
  bf16* q_decayed;     // [chunks, H, 64, dk] q_t * exp(b_t)
  bf16* scores;        // [chunks, H, 64, 64] A (blocks above the diagonal unwritten)
  int32_t num_state_blocks;
};

// ---------------------------------------------------------------------------------------
// Device helpers.

__device__ inline uint32_t SmemAddress(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared, bypassing L1; zero-fills when !valid (nothing is read then).
__device__ inline void CpAsync16(void* smem, const void* gmem, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(SmemAddress(smem)), "l"(gmem),
               "r"(valid ? 16 : 0)
               : "memory");
}
__device__ inline void CpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int kPending>
__device__ inline void CpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

__device__ inline float Exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Four 8x8 bf16 matrices; lane l addresses row l % 8 of matrix l / 8.
__device__ inline void LdMatrixX4(uint32_t (&r)[4], const bf16* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(SmemAddress(p))
               : "memory");
}
__device__ inline void LdMatrixX4Trans(uint32_t (&r)[4], const bf16* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(SmemAddress(p))
               : "memory");
}

// d += a b for one m16n8k16 tile; a: 16x16 row-major fragment, b: 16x8 column fragment.
__device__ inline void Mma(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Fragment addresses (lane = threadIdx.x % 32). An A fragment (16x16 at m0, k0) from a
// tile stored [m][k]: matrices (m0,k0) (m0+8,k0) (m0,k0+8) (m0+8,k0+8).
__device__ inline const bf16* AFragRow(const bf16* tile, int pitch, int m0, int k0, int lane) {
  return tile + (m0 + (lane % 8) + ((lane / 8) % 2) * 8) * pitch + k0 + (lane / 16) * 8;
}
// Two B fragments (k0..k0+15 x n0..n0+15, as n-tiles n0 and n0+8) from a tile stored
// [n][k]: matrices (n0,k0) (n0,k0+8) (n0+8,k0) (n0+8,k0+8); registers {0,1} and {2,3}.
__device__ inline const bf16* BFragNK(const bf16* tile, int pitch, int k0, int n0, int lane) {
  return tile + (n0 + (lane / 16) * 8 + (lane % 8)) * pitch + k0 + ((lane / 8) % 2) * 8;
}
// The same two B fragments from a tile stored [k][n], loaded with .trans.
__device__ inline const bf16* BFragKNTrans(const bf16* tile, int pitch, int k0, int n0, int lane) {
  return tile + (k0 + ((lane / 8) % 2) * 8 + (lane % 8)) * pitch + n0 + (lane / 16) * 8;
}
// An A fragment (16x16 at m0, k0) from a tile stored [k][m], loaded with .trans:
// matrices (k0,m0) (k0,m0+8) (k0+8,m0) (k0+8,m0+8).
__device__ inline const bf16* AFragKMTrans(const bf16* tile, int pitch, int m0, int k0, int lane) {
  return tile + (k0 + (lane / 16) * 8 + (lane % 8)) * pitch + m0 + ((lane / 8) % 2) * 8;
}

__device__ inline float2 Load2(const float* p) { return *reinterpret_cast<const float2*>(p); }
__device__ inline float2 Load2(const bf16* p) {
  return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(p));
}
__device__ inline void Store2(float* p, float x, float y) { *reinterpret_cast<float2*>(p) = make_float2(x, y); }
__device__ inline void Store2(bf16* p, float x, float y) {
  *reinterpret_cast<__nv_bfloat162*>(p) = __floats2bfloat162_rn(x, y);
}

__device__ inline float WarpSum(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

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

template <int kHeadKDim, typename StateT>
__global__ void __launch_bounds__(kThreads, 2) GlaChunkPrepKernel(const Plan p) {
  extern __shared__ __align__(16) char smem[];
  if (static_cast<int>(blockIdx.x) < p.num_state_blocks) {
    StatePass<kHeadKDim, StateT>(p, blockIdx.x, smem);
  } else {
    IntraPass<kHeadKDim>(p, blockIdx.x - p.num_state_blocks, smem);
  }
}

// ---------------------------------------------------------------------------------------
// Output pass: one block per (chunk, query head, kTileV dv columns). Warp w owns tokens
// 16*(w%4).. and columns (kTileV/2)*(w/4).. . The inter part streams dk in 64-wide slices
// through a 3-stage cp.async ring; the intra part skips the blocks above the diagonal.

template <int kTileV>
struct OutputSmem {
  bf16 q_decayed[kOutStages][kChunk][kPitch];  // [t][i] slice
  bf16 state[kOutStages][kTileV][kPitch];      // [j][i] slice
  bf16 scores[kChunk][kPitch];                 // [t][s]
  bf16 v[kChunk][kTileV + 8];                  // [s][j]
};

template <int kHeadKDim, int kTileV>
__global__ void __launch_bounds__(kThreads, 2) GlaChunkOutputKernel(const Plan p) {
  extern __shared__ __align__(16) char smem_raw[];
  OutputSmem<kTileV>& sm = *reinterpret_cast<OutputSmem<kTileV>*>(smem_raw);
  const GlaChunkwiseArgs& args = p.args;
  const int num_heads = args.num_heads, dv = args.head_v_dim, tiles_v = dv / kTileV;
  int block = blockIdx.x;
  const int col0 = (block % tiles_v) * kTileV;
  block /= tiles_v;
  const int head = block % num_heads, chunk_id = block / num_heads;
  const int kv_head = head / (num_heads / args.num_kv_heads);
  const ChunkEntry chunk = p.chunks[chunk_id];
  const int n = chunk.num_tokens;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, tq = lane % 4;
  constexpr int kWarpCols = kTileV / 2, kTilesN = kWarpCols / 8, kSlices = kHeadKDim / kTile;
  const int wr = (warp % 4) * 16, wc = (warp / 4) * kWarpCols;

  const int64_t qa_block = static_cast<int64_t>(chunk_id) * num_heads + head;
  const bf16* q_decayed = p.q_decayed + qa_block * kChunk * kHeadKDim;
  const bf16* scores = p.scores + qa_block * kChunk * kChunk;
  const bf16* state =
      p.chunk_states + ((static_cast<int64_t>(chunk_id) * args.num_kv_heads + kv_head) * dv + col0) * kHeadKDim;

  auto issue_slice = [&](int slice, int stage) {
    constexpr int kPieces = (kChunk + kTileV) * 8;  // rows x 8 pieces of 16 bytes
    for (int id = tid; id < kPieces; id += kThreads) {
      const int r = id / 8, piece = (id % 8) * 8, col = slice * kTile + piece;
      if (r < kChunk) {
        CpAsync16(&sm.q_decayed[stage][r][piece], q_decayed + r * kHeadKDim + col, true);
      } else {
        CpAsync16(&sm.state[stage][r - kChunk][piece], state + (r - kChunk) * kHeadKDim + col, true);
      }
    }
  };

  // Group 0: the scores and slice 0; then slices 1 .. kOutStages-2.
#pragma unroll
  for (int u = 0; u < 2; ++u) {
    const int id = tid + u * kThreads, r = id / 8, piece = (id % 8) * 8;
    CpAsync16(&sm.scores[r][piece], scores + r * kChunk + piece, true);
  }
#pragma unroll
  for (int s = 0; s < kOutStages - 1; ++s) {
    if (s < kSlices) issue_slice(s, s);
    CpAsyncCommit();
  }
  // v (fp32) into registers now; converted to bf16 after the inter part.
  constexpr int kVLoads = kTileV * kChunk / 4 / kThreads;
  float4 v_regs[kVLoads];
  const float* v = args.v + static_cast<int64_t>(kv_head) * dv + col0;
#pragma unroll
  for (int u = 0; u < kVLoads; ++u) {
    const int id = tid + u * kThreads, r = id / (kTileV / 4), c4 = (id % (kTileV / 4)) * 4;
    v_regs[u] = r < n ? *reinterpret_cast<const float4*>(v + static_cast<int64_t>(chunk.token_start + r) *
                                                                 args.v_stride + c4)
                      : make_float4(0, 0, 0, 0);
  }

  float acc[kTilesN][4] = {};
  for (int slice = 0; slice < kSlices; ++slice) {
    CpAsyncWait<kOutStages - 2>();
    __syncthreads();
    if (slice + kOutStages - 1 < kSlices) issue_slice(slice + kOutStages - 1, (slice + kOutStages - 1) % kOutStages);
    CpAsyncCommit();
    const int stage = slice % kOutStages;
#pragma unroll
    for (int ks = 0; ks < kTile / 16; ++ks) {
      uint32_t a[4];
      LdMatrixX4(a, AFragRow(&sm.q_decayed[stage][0][0], kPitch, wr, ks * 16, lane));
#pragma unroll
      for (int np = 0; np < kTilesN / 2; ++np) {
        uint32_t b[4];
        LdMatrixX4(b, BFragNK(&sm.state[stage][0][0], kPitch, ks * 16, wc + np * 16, lane));
        Mma(acc[2 * np], a, b[0], b[1]);
        Mma(acc[2 * np + 1], a, b[2], b[3]);
      }
    }
  }

  CpAsyncWait<0>();
#pragma unroll
  for (int u = 0; u < kVLoads; ++u) {
    const int id = tid + u * kThreads, r = id / (kTileV / 4), c4 = (id % (kTileV / 4)) * 4;
    Store2(&sm.v[r][c4], v_regs[u].x, v_regs[u].y);
    Store2(&sm.v[r][c4 + 2], v_regs[u].z, v_regs[u].w);
  }
  __syncthreads();
  // Intra: A v over the sub-chunks up to this warp's own (A is zero above the diagonal).
  for (int ks = 0; ks <= wr / 16; ++ks) {
    uint32_t a[4];
    LdMatrixX4(a, AFragRow(&sm.scores[0][0], kPitch, wr, ks * 16, lane));
#pragma unroll
    for (int np = 0; np < kTilesN / 2; ++np) {
      uint32_t b[4];
      LdMatrixX4Trans(b, BFragKNTrans(&sm.v[0][0], kTileV + 8, ks * 16, wc + np * 16, lane));
      Mma(acc[2 * np], a, b[0], b[1]);
      Mma(acc[2 * np + 1], a, b[2], b[3]);
    }
  }

  float* out = args.out + head * dv + col0 + wc + tq * 2;
  const int t0 = wr + g;
  float* top = out + static_cast<int64_t>(chunk.token_start + t0) * args.out_stride;
  float* bottom = top + 8 * args.out_stride;
#pragma unroll
  for (int nt = 0; nt < kTilesN; ++nt) {
    if (t0 < n) Store2(top + nt * 8, acc[nt][0], acc[nt][1]);
    if (t0 + 8 < n) Store2(bottom + nt * 8, acc[nt][2], acc[nt][3]);
  }
}

// ---------------------------------------------------------------------------------------
// Host side.

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

template <typename Kernel>
cudaError_t LaunchWithSmem(Kernel kernel, size_t smem, int blocks, cudaStream_t stream, const Plan& plan) {
  cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  if (err != cudaSuccess) return err;
  kernel<<<blocks, kThreads, smem, stream>>>(plan);
  return cudaGetLastError();
}

template <int kHeadKDim, typename StateT>
cudaError_t LaunchPasses(const Plan& plan, int num_chunks, cudaStream_t stream) {
  const GlaChunkwiseArgs& a = plan.args;
  const size_t prep_smem = std::max(sizeof(StateSmem), sizeof(IntraSmem<kHeadKDim>));
  cudaError_t err = LaunchWithSmem(GlaChunkPrepKernel<kHeadKDim, StateT>, prep_smem,
                                   plan.num_state_blocks + num_chunks * a.num_heads, stream, plan);
  if (err != cudaSuccess) return err;
  if (a.head_v_dim % 128 == 0) {
    return LaunchWithSmem(GlaChunkOutputKernel<kHeadKDim, 128>, sizeof(OutputSmem<128>),
                          num_chunks * a.num_heads * (a.head_v_dim / 128), stream, plan);
  }
  return LaunchWithSmem(GlaChunkOutputKernel<kHeadKDim, 64>, sizeof(OutputSmem<64>),
                        num_chunks * a.num_heads * (a.head_v_dim / 64), stream, plan);
}

template <typename StateT>
cudaError_t LaunchForState(const Plan& plan, int num_chunks, cudaStream_t stream) {
  switch (plan.args.head_k_dim) {
    case 64: return LaunchPasses<64, StateT>(plan, num_chunks, stream);
    case 128: return LaunchPasses<128, StateT>(plan, num_chunks, stream);
    case 256: return LaunchPasses<256, StateT>(plan, num_chunks, stream);
  }
  return cudaErrorInvalidValue;
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
  return args.state_dtype == StateDType::kF32 ? LaunchForState<float>(plan, static_cast<int>(num_chunks), stream)
                                              : LaunchForState<bf16>(plan, static_cast<int>(num_chunks), stream);
}

}  // namespace glaserve::kernels::cuda
