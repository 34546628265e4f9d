// The first launch of the chunkwise GLA prefill (gla_chunkwise.cu): the state pass
// (gla_chunkwise_state_pass.cuh) and the intra pass (gla_chunkwise_intra_pass.cuh) are
// independent, so one kernel runs both, the state pass's blocks first.
#include <algorithm>

#include "kernels/cuda/gla_chunkwise_internal.cuh"
#include "kernels/cuda/gla_chunkwise_intra_pass.cuh"
#include "kernels/cuda/gla_chunkwise_state_pass.cuh"

namespace glaserve::kernels::cuda::chunkwise {
namespace {

template <int kHeadKDim, typename StateT>
__global__ void __launch_bounds__(kThreads, 2) GlaChunkPrepKernel(const Plan p) {
  extern __shared__ __align__(16) char smem[];
  if (static_cast<int>(blockIdx.x) < p.num_state_blocks) {
    StatePass<kHeadKDim, StateT>(p, blockIdx.x, smem);
  } else {
    IntraPass<kHeadKDim>(p, blockIdx.x - p.num_state_blocks, smem);
  }
}

template <int kHeadKDim, typename StateT>
cudaError_t LaunchPrep(const Plan& plan, int num_chunks, cudaStream_t stream) {
  const size_t prep_smem = std::max(sizeof(StateSmem), sizeof(IntraSmem<kHeadKDim>));
  return LaunchWithSmem(GlaChunkPrepKernel<kHeadKDim, StateT>, prep_smem,
                        plan.num_state_blocks + num_chunks * plan.args.num_heads, stream, plan);
}

template <typename StateT>
cudaError_t LaunchPrepForState(const Plan& plan, int num_chunks, cudaStream_t stream) {
  switch (plan.args.head_k_dim) {
    case 64: return LaunchPrep<64, StateT>(plan, num_chunks, stream);
    case 128: return LaunchPrep<128, StateT>(plan, num_chunks, stream);
    case 256: return LaunchPrep<256, StateT>(plan, num_chunks, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace

cudaError_t LaunchPrepPasses(const Plan& plan, int num_chunks, cudaStream_t stream) {
  return plan.args.state_dtype == StateDType::kF32 ? LaunchPrepForState<float>(plan, num_chunks, stream)
                                                   : LaunchPrepForState<bf16>(plan, num_chunks, stream);
}

}  // namespace glaserve::kernels::cuda::chunkwise
