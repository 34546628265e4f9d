#include "kernels/cuda/gla_decode.h"

#include <cuda_bf16.h>

namespace glaserve::kernels::cuda {
namespace {

constexpr int kWarpSize = 32;
constexpr int kWarpsPerBlock = 8;
// Rows a warp keeps in flight at once: independent loads hide memory latency.
constexpr int kRowsInFlight = 2;
constexpr int kMaxGroup = 16;  // query heads per kv head held in shared memory

// Each lane owns kPerLane = dk / 32 consecutive elements of a row: adjacent lanes read
// adjacent addresses, so a warp's row access is one coalesced transaction run.
template <int kPerLane>
__device__ inline void LoadRow(const float* row, int lane, float (&x)[kPerLane]) {
  const float* p = row + lane * kPerLane;
#pragma unroll
  for (int i = 0; i < kPerLane; i += 2) {
    const float2 pair = *reinterpret_cast<const float2*>(p + i);
    x[i] = pair.x;
    x[i + 1] = pair.y;
  }
}

template <int kPerLane>
__device__ inline void LoadRow(const __nv_bfloat16* row, int lane, float (&x)[kPerLane]) {
  const __nv_bfloat16* p = row + lane * kPerLane;
#pragma unroll
  for (int i = 0; i < kPerLane; i += 2) {
    const float2 pair = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(p + i));
    x[i] = pair.x;
    x[i + 1] = pair.y;
  }
}

template <int kPerLane>
__device__ inline void StoreRow(float* row, int lane, const float (&x)[kPerLane]) {
  float* p = row + lane * kPerLane;
#pragma unroll
  for (int i = 0; i < kPerLane; i += 2) *reinterpret_cast<float2*>(p + i) = make_float2(x[i], x[i + 1]);
}

template <int kPerLane>
__device__ inline void StoreRow(__nv_bfloat16* row, int lane, const float (&x)[kPerLane]) {
  __nv_bfloat16* p = row + lane * kPerLane;
#pragma unroll
  for (int i = 0; i < kPerLane; i += 2) {
    *reinterpret_cast<__nv_bfloat162*>(p + i) = __floats2bfloat162_rn(x[i], x[i + 1]);
  }
}

__device__ inline float WarpSum(float x) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

// Grid: (batch * H_kv, row blocks). Block: kWarpsPerBlock warps, each owning rows
// j = row_block * rows_per_block + warp + kWarpsPerBlock * r.
template <int kHeadKDim, typename StateT>
__global__ void __launch_bounds__(kWarpsPerBlock * kWarpSize)
    GlaDecodeKernel(const GlaDecodeArgs args, int rows_per_block) {
  constexpr int kPerLane = kHeadKDim / kWarpSize;
  const int seq = blockIdx.x / args.num_kv_heads;
  const int kv_head = blockIdx.x % args.num_kv_heads;
  const int group = args.num_heads / args.num_kv_heads;
  const int first_q_head = kv_head * group;
  const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;

  // q of every query head of the group, shared by the block's warps.
  __shared__ float q_shared[kMaxGroup][kHeadKDim];
  for (int i = threadIdx.x; i < group * kHeadKDim; i += blockDim.x) {
    q_shared[i / kHeadKDim][i % kHeadKDim] =
        args.q[seq * args.q_stride + (first_q_head + i / kHeadKDim) * kHeadKDim + i % kHeadKDim];
  }
  __syncthreads();

  float k[kPerLane], decay[kPerLane];
  LoadRow(args.k + seq * args.k_stride + kv_head * kHeadKDim, lane, k);
  LoadRow(args.log_gate + seq * args.log_gate_stride + kv_head * kHeadKDim, lane, decay);
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) decay[i] = __expf(decay[i]);

  const float* v = args.v + seq * args.v_stride + kv_head * args.head_v_dim;
  StateT* state = static_cast<StateT*>(args.state) + args.slots[seq] * args.slot_stride +
                  static_cast<int64_t>(kv_head) * args.head_v_dim * kHeadKDim;
  float* out = args.out + seq * args.out_stride + first_q_head * args.head_v_dim;

  const int row_begin = blockIdx.y * rows_per_block;
  const int row_end = min(row_begin + rows_per_block, args.head_v_dim);
  for (int j0 = row_begin + warp; j0 < row_end; j0 += kWarpsPerBlock * kRowsInFlight) {
    float s[kRowsInFlight][kPerLane];
#pragma unroll
    for (int r = 0; r < kRowsInFlight; ++r) {
      const int j = j0 + r * kWarpsPerBlock;
      if (j < row_end) LoadRow(state + static_cast<int64_t>(j) * kHeadKDim, lane, s[r]);
    }
#pragma unroll
    for (int r = 0; r < kRowsInFlight; ++r) {
      const int j = j0 + r * kWarpsPerBlock;
      if (j >= row_end) continue;
      const float vj = v[j];
#pragma unroll
      for (int i = 0; i < kPerLane; ++i) s[r][i] = fmaf(decay[i], s[r][i], k[i] * vj);
      StoreRow(state + static_cast<int64_t>(j) * kHeadKDim, lane, s[r]);
      for (int g = 0; g < group; ++g) {
        float dot = 0;
#pragma unroll
        for (int i = 0; i < kPerLane; ++i) dot = fmaf(q_shared[g][lane * kPerLane + i], s[r][i], dot);
        dot = WarpSum(dot);
        if (lane == 0) out[g * args.head_v_dim + j] = dot;
      }
    }
  }
}

template <int kHeadKDim, typename StateT>
cudaError_t Launch(const GlaDecodeArgs& args, cudaStream_t stream) {
  // Enough row blocks to give every SM work even at batch 1, each a few warps' worth.
  const int rows_per_block = kWarpsPerBlock * kRowsInFlight * 2;
  const dim3 grid(args.batch * args.num_kv_heads, (args.head_v_dim + rows_per_block - 1) / rows_per_block);
  GlaDecodeKernel<kHeadKDim, StateT><<<grid, kWarpsPerBlock * kWarpSize, 0, stream>>>(args, rows_per_block);
  return cudaGetLastError();
}

template <typename StateT>
cudaError_t LaunchForState(const GlaDecodeArgs& args, cudaStream_t stream) {
  switch (args.head_k_dim) {
    case 64: return Launch<64, StateT>(args, stream);
    case 128: return Launch<128, StateT>(args, stream);
    case 256: return Launch<256, StateT>(args, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace

cudaError_t LaunchGlaDecode(const GlaDecodeArgs& args, cudaStream_t stream) {
  if (args.batch <= 0) return cudaSuccess;
  if (args.num_kv_heads <= 0 || args.num_heads % args.num_kv_heads != 0 ||
      args.num_heads / args.num_kv_heads > kMaxGroup || args.head_v_dim <= 0) {
    return cudaErrorInvalidValue;
  }
  return args.state_dtype == StateDType::kF32 ? LaunchForState<float>(args, stream)
                                              : LaunchForState<__nv_bfloat16>(args, stream);
}

}  // namespace glaserve::kernels::cuda
