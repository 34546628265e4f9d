#include "engine/cpu_model_weights.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace glaserve {
namespace {

// Appends the rows of tensors [rows_i, cols] one after another: a stacked weight.
std::vector<float> Stack(const Checkpoint& checkpoint, std::initializer_list<std::string> names) {
  std::vector<float> stacked;
  for (const std::string& name : names) {
    std::vector<float> part = checkpoint.TensorAsFloat(name);
    stacked.insert(stacked.end(), part.begin(), part.end());
  }
  return stacked;
}

}  // namespace

AttnProjLayout AttnProjLayout::For(const ModelConfig& c) {
  AttnProjLayout layout;
  layout.q = 0;
  layout.k = layout.q + c.key_dim;
  layout.v = layout.k + c.kv_key_dim();
  layout.g = layout.v + c.kv_value_dim();
  layout.gk = layout.g + (c.use_output_gate ? c.value_dim : 0);
  layout.width = layout.gk + c.gate_low_rank_dim;
  return layout;
}

CpuModelWeights CpuModelWeights::Load(const Checkpoint& checkpoint) {
  const ModelConfig& c = checkpoint.config();
  CpuModelWeights weights;
  weights.embeddings = checkpoint.TensorAsFloat("model.embeddings.weight");
  weights.final_norm = checkpoint.TensorAsFloat("model.norm.weight");
  if (!c.tie_word_embeddings) weights.lm_head = checkpoint.TensorAsFloat("lm_head.weight");
  const float q_scale = 1.0f / std::sqrt(static_cast<float>(c.head_k_dim));
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = absl::StrCat("model.layers.", i, ".");
    CpuLayerWeights layer;
    layer.attn_norm = checkpoint.TensorAsFloat(p + "attn_norm.weight");
    layer.attn_in_proj =
        c.use_output_gate
            ? Stack(checkpoint, {p + "attn.q_proj.weight", p + "attn.k_proj.weight",
                                 p + "attn.v_proj.weight", p + "attn.g_proj.weight",
                                 p + "attn.gk_proj.0.weight"})
            : Stack(checkpoint, {p + "attn.q_proj.weight", p + "attn.k_proj.weight",
                                 p + "attn.v_proj.weight", p + "attn.gk_proj.0.weight"});
    // The dk^-0.5 scale goes on q: fold it into q's rows, the first Kd of the stack.
    for (int64_t w = 0; w < c.key_dim * c.hidden_size; ++w) layer.attn_in_proj[w] *= q_scale;
    layer.gk_up_proj = checkpoint.TensorAsFloat(p + "attn.gk_proj.1.weight");
    layer.gk_bias = checkpoint.TensorAsFloat(p + "attn.gk_proj.1.bias");
    layer.o_proj = checkpoint.TensorAsFloat(p + "attn.o_proj.weight");
    layer.output_norm = checkpoint.TensorAsFloat(
        p + (c.output_norm_is_fused() ? "attn.g_norm_swish_gate.weight" : "attn.g_norm.weight"));
    layer.mlp_norm = checkpoint.TensorAsFloat(p + "mlp_norm.weight");
    layer.mlp_gate_up_proj = Stack(checkpoint, {p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"});
    layer.mlp_down_proj = checkpoint.TensorAsFloat(p + "mlp.down_proj.weight");
    weights.layers.push_back(std::move(layer));
  }
  return weights;
}

}  // namespace glaserve
