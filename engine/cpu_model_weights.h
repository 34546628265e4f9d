// The model's weights in fp32 for the CPU runner, converted once at load and rearranged
// so each layer runs as few matmuls as possible.
#ifndef GLASERVE_ENGINE_CPU_MODEL_WEIGHTS_H_
#define GLASERVE_ENGINE_CPU_MODEL_WEIGHTS_H_

#include <cstdint>
#include <vector>

#include "engine/checkpoint.h"

namespace glaserve {

struct CpuLayerWeights {
  std::vector<float> attn_norm;  // [D]
  // q, k, v, g (when the output gate is on) and the gate's low-rank input projection
  // stacked into one [Kd + Kkv + Vkv + Vd + R, D] matrix: one matmul reads h once.
  // q rows are pre-multiplied by dk^-0.5.
  std::vector<float> attn_in_proj;
  std::vector<float> gk_up_proj;    // [Kkv, R]
  std::vector<float> gk_bias;       // [Kkv]
  std::vector<float> o_proj;        // [D, Vd]
  std::vector<float> output_norm;   // [dv], shared by all heads
  std::vector<float> mlp_norm;      // [D]
  std::vector<float> mlp_gate_up_proj;  // [2I, D]: gate rows then up rows
  std::vector<float> mlp_down_proj;     // [D, I]
};

// Column offsets of each part inside one row of attn_in_proj's output.
struct AttnProjLayout {
  int64_t q = 0, k = 0, v = 0, g = 0, gk = 0, width = 0;
  static AttnProjLayout For(const ModelConfig& config);
};

struct CpuModelWeights {
  std::vector<float> embeddings;  // [V, D]
  std::vector<CpuLayerWeights> layers;
  std::vector<float> final_norm;  // [D]
  std::vector<float> lm_head;     // [V, D]; empty when tied to the embeddings

  const float* lm_head_data() const { return lm_head.empty() ? embeddings.data() : lm_head.data(); }

  static CpuModelWeights Load(const Checkpoint& checkpoint);
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_CPU_MODEL_WEIGHTS_H_
