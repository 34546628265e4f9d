// The output pass of the chunkwise GLA prefill (gla_chunkwise.cu), its second launch:
// o = (q * exp(b)) S0 + A v from the chunk states of the state pass and the decayed queries
// and scores of the intra pass.
#include <cstdint>

#include "kernels/cuda/gla_chunkwise_internal.cuh"

namespace glaserve::kernels::cuda::chunkwise {
namespace {

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

template <int kHeadKDim>
cudaError_t LaunchOutput(const Plan& plan, int num_chunks, cudaStream_t stream) {
  const GlaChunkwiseArgs& a = plan.args;
  if (a.head_v_dim % 128 == 0) {
    return LaunchWithSmem(GlaChunkOutputKernel<kHeadKDim, 128>, sizeof(OutputSmem<128>),
                          num_chunks * a.num_heads * (a.head_v_dim / 128), stream, plan);
  }
  return LaunchWithSmem(GlaChunkOutputKernel<kHeadKDim, 64>, sizeof(OutputSmem<64>),
                        num_chunks * a.num_heads * (a.head_v_dim / 64), stream, plan);
}

}  // namespace

cudaError_t LaunchOutputPass(const Plan& plan, int num_chunks, cudaStream_t stream) {
  switch (plan.args.head_k_dim) {
    case 64: return LaunchOutput<64>(plan, num_chunks, stream);
    case 128: return LaunchOutput<128>(plan, num_chunks, stream);
    case 256: return LaunchOutput<256>(plan, num_chunks, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace glaserve::kernels::cuda::chunkwise
