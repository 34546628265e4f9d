// The model's weights on the GPU for the CUDA runner: matmul weights in bf16, stacked as
// the CPU runner stacks them (engine/cpu_model_weights.h: q/k/v/g/gate-low-rank in one
// matrix, gate/up in another) so each layer runs as few cuBLAS calls as possible; norm
// weights and the gate's small up-projection in fp32 (read by the fused kernels).
#ifndef GLASERVE_ENGINE_CUDA_CUDA_MODEL_WEIGHTS_H_
#define GLASERVE_ENGINE_CUDA_CUDA_MODEL_WEIGHTS_H_

#include <cuda_bf16.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/cuda/device_array.h"
#include "engine/model_config.h"

namespace glaserve {

struct CudaLayerWeights {
  DeviceArray<float> attn_norm;                 // [D]
  DeviceArray<__nv_bfloat16> attn_in_proj;      // [Kd + Kkv + Vkv + Vd + R, D], q rows * dk^-0.5
  DeviceArray<float> gk_up_proj;                // [Kkv, R]
  DeviceArray<float> gk_bias;                   // [Kkv]
  DeviceArray<__nv_bfloat16> o_proj;            // [D, Vd]
  DeviceArray<float> output_norm;               // [dv]
  DeviceArray<float> mlp_norm;                  // [D]
  DeviceArray<__nv_bfloat16> mlp_gate_up_proj;  // [2I, D]
  DeviceArray<__nv_bfloat16> mlp_down_proj;     // [D, I]
};

struct CudaModelWeights {
  DeviceArray<__nv_bfloat16> embeddings;  // [V, D]
  std::vector<CudaLayerWeights> layers;
  DeviceArray<float> final_norm;          // [D]
  DeviceArray<__nv_bfloat16> lm_head;     // [V, D]; empty when tied to the embeddings

  const __nv_bfloat16* lm_head_data() const {
    return lm_head.size() > 0 ? lm_head.data() : embeddings.data();
  }
  int64_t bytes() const;

  // Tensor values by checkpoint name (DESIGN.md section 1) and shape, in fp32.
  using TensorSource = std::function<std::vector<float>(const std::string& name, int64_t num_elements)>;
  static CudaModelWeights Build(const ModelConfig& config, const TensorSource& source);
  static CudaModelWeights Load(const Checkpoint& checkpoint);
  // Random weights of a realistic scale, for benchmarks of shapes we have no checkpoint of.
  static CudaModelWeights Random(const ModelConfig& config, uint64_t seed);
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_CUDA_CUDA_MODEL_WEIGHTS_H_
