#include "kernels/cuda/gla_decode.h"

#include <cuda_bf16.h>

namespace glaserve::kernels::cuda {
namespace {

constexpr int kWarpSize = 32;
constexpr int kWarpsPerBlock = 8;
// Rows a warp keeps in flight at once: independent loads hide memory latency. A bf16 row
// is half the bytes, so it takes twice the rows to keep as many bytes in flight.
template <typename StateT>
constexpr int kRowsInFlight = sizeof(StateT) == 4 ? 2 : 4;
constexpr int kMaxGroup = 16;  // query heads per kv head held in shared memory

// Each lane owns kPerLane = dk / 32 consecutive elements of a row: adjacent lanes read
// adjacent addresses, so a warp's row access is one coalesced run, in the widest vector
// accesses the lane's share allows (16 bytes for dk = 256 in either dtype, and for
// dk = 128 in fp32).
template <int kBytes>
struct VectorOf;
template <>
struct VectorOf<16> { using Type = uint4; };
template <>
struct VectorOf<8> { using Type = uint2; };
template <>
struct VectorOf<4> { using Type = uint32_t; };

template <typename T, int kCount>
__host__ __device__ constexpr int VectorBytes() {
  return sizeof(T) * kCount >= 16 ? 16 : static_cast<int>(sizeof(T) * kCount);
}

template <int kPerLane, bool kStreaming = false, typename T>
__device__ inline void LoadRow(const T* row, int lane, float (&x)[kPerLane]) {
  constexpr int kBytes = VectorBytes<T, kPerLane>();
  constexpr int kPerVector = kBytes / sizeof(T);
  using Vector = typename VectorOf<kBytes>::Type;
  const T* p = row + lane * kPerLane;
#pragma unroll
  for (int i = 0; i < kPerLane; i += kPerVector) {
    const Vector* address = reinterpret_cast<const Vector*>(p + i);
    const Vector raw = kStreaming ? __ldcs(address) : *address;
    const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int j = 0; j < kPerVector; ++j) {
      if constexpr (sizeof(T) == 4) {
        x[i + j] = e[j];
      } else {
        x[i + j] = __bfloat162float(e[j]);
      }
    }
  }
}

template <int kPerLane, bool kStreaming = false, typename T>
__device__ inline void StoreRow(T* row, int lane, const float (&x)[kPerLane]) {
  constexpr int kBytes = VectorBytes<T, kPerLane>();
  constexpr int kPerVector = kBytes / sizeof(T);
  using Vector = typename VectorOf<kBytes>::Type;
  T* p = row + lane * kPerLane;
#pragma unroll
  for (int i = 0; i < kPerLane; i += kPerVector) {
    Vector raw;
    T* e = reinterpret_cast<T*>(&raw);
#pragma unroll
    for (int j = 0; j < kPerVector; ++j) {
      if constexpr (sizeof(T) == 4) {
        e[j] = x[i + j];
      } else {
        e[j] = __float2bfloat16_rn(x[i + j]);
      }
    }
    Vector* address = reinterpret_cast<Vector*>(p + i);
    if constexpr (kStreaming) {
      __stcs(address, raw);
    } else {
      *address = raw;
    }
  }
}

__device__ inline float WarpSum(float x) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

// Grid: (batch * H_kv, row blocks). Block: kWarpsPerBlock warps, each owning rows
// j = row_block * rows_per_block + warp + kWarpsPerBlock * r.
// kStreaming: state rows are read and written with the evict-first cache hint. Measured
// on an H100 (docs/benchmarks.md): 5-10% faster for a bf16 state whose step is larger
// than L2, slower for smaller bf16 steps and for fp32 states.
template <int kHeadKDim, typename StateT, bool kStreaming>
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
  LoadRow<kPerLane>(args.k + seq * args.k_stride + kv_head * kHeadKDim, lane, k);
  LoadRow<kPerLane>(args.log_gate + seq * args.log_gate_stride + kv_head * kHeadKDim, lane, decay);
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) decay[i] = __expf(decay[i]);

  const float* v = args.v + seq * args.v_stride + kv_head * args.head_v_dim;
  StateT* state = static_cast<StateT*>(args.state) + args.slots[seq] * args.slot_stride +
                  static_cast<int64_t>(kv_head) * args.head_v_dim * kHeadKDim;
  float* out = args.out + seq * args.out_stride + first_q_head * args.head_v_dim;

  const int row_begin = blockIdx.y * rows_per_block;
  const int row_end = min(row_begin + rows_per_block, args.head_v_dim);
  for (int j0 = row_begin + warp; j0 < row_end; j0 += kWarpsPerBlock * kRowsInFlight<StateT>) {
    float s[kRowsInFlight<StateT>][kPerLane];
#pragma unroll
    for (int r = 0; r < kRowsInFlight<StateT>; ++r) {
      const int j = j0 + r * kWarpsPerBlock;
      if (j < row_end) LoadRow<kPerLane, kStreaming>(state + static_cast<int64_t>(j) * kHeadKDim, lane, s[r]);
    }
#pragma unroll
    for (int r = 0; r < kRowsInFlight<StateT>; ++r) {
      const int j = j0 + r * kWarpsPerBlock;
      if (j >= row_end) continue;
      const float vj = v[j];
#pragma unroll
      for (int i = 0; i < kPerLane; ++i) s[r][i] = fmaf(decay[i], s[r][i], k[i] * vj);
      StoreRow<kPerLane, kStreaming>(state + static_cast<int64_t>(j) * kHeadKDim, lane, s[r]);
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
  // Rows per block: a whole head's rows when the batch is large (q, k and the decay are
  // then loaded once per head, not once per few rows), split finer while the grid would
  // leave SMs short of blocks (batch 1 of gla-1.3B: 4 kv heads x 512 rows).
  static int num_sms = 0, l2_bytes = 0;
  if (num_sms == 0) {
    int device = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&num_sms, cudaDevAttrMultiProcessorCount, device);
    cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, device);
  }
  const int64_t sequence_heads = static_cast<int64_t>(args.batch) * args.num_kv_heads;
  int rows_per_block = args.head_v_dim;
  while (rows_per_block > kWarpsPerBlock &&
         sequence_heads * ((args.head_v_dim + rows_per_block - 1) / rows_per_block) < 4 * num_sms) {
    rows_per_block = (rows_per_block + 1) / 2;
  }
  const dim3 grid(args.batch * args.num_kv_heads, (args.head_v_dim + rows_per_block - 1) / rows_per_block);
  const int64_t step_state_bytes = sequence_heads * args.head_v_dim * kHeadKDim * static_cast<int64_t>(sizeof(StateT));
  if (sizeof(StateT) == 2 && step_state_bytes > l2_bytes) {
    GlaDecodeKernel<kHeadKDim, StateT, true><<<grid, kWarpsPerBlock * kWarpSize, 0, stream>>>(args, rows_per_block);
  } else {
    GlaDecodeKernel<kHeadKDim, StateT, false><<<grid, kWarpsPerBlock * kWarpSize, 0, stream>>>(args, rows_per_block);
  }
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
