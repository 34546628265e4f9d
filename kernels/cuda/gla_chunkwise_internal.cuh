// Private to the chunkwise GLA prefill (gla_chunkwise.cu and the files of its passes): the
// tile constants, the chunk table's entries, the Plan every kernel gets, the device helpers
// the passes share (cp.async, ex2, ldmatrix, mma.sync fragments), and the two launches.
#ifndef GLASERVE_KERNELS_CUDA_GLA_CHUNKWISE_INTERNAL_CUH_
#define GLASERVE_KERNELS_CUDA_GLA_CHUNKWISE_INTERNAL_CUH_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/cuda/gla_chunkwise.h"

namespace glaserve::kernels::cuda::chunkwise {

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
// Host side: the two launches, in order, each returning its launch error.

// The state and intra passes, sharing one launch (gla_chunkwise_prep.cu).
cudaError_t LaunchPrepPasses(const Plan& plan, int num_chunks, cudaStream_t stream);
// The output pass (gla_chunkwise_output_pass.cu).
cudaError_t LaunchOutputPass(const Plan& plan, int num_chunks, cudaStream_t stream);

template <typename Kernel>
cudaError_t LaunchWithSmem(Kernel kernel, size_t smem, int blocks, cudaStream_t stream, const Plan& plan) {
  cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  if (err != cudaSuccess) return err;
  kernel<<<blocks, kThreads, smem, stream>>>(plan);
  return cudaGetLastError();
}

}  // namespace glaserve::kernels::cuda::chunkwise

#endif  // GLASERVE_KERNELS_CUDA_GLA_CHUNKWISE_INTERNAL_CUH_
