#include "engine/cuda/cuda_model_weights.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "kernels/cpu/half_convert.h"

namespace glaserve {
namespace {

std::vector<__nv_bfloat16> ToBf16(const std::vector<float>& values) {
  std::vector<__nv_bfloat16> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    __nv_bfloat16_raw raw;
    raw.x = kernels::FloatToBf16(values[i]);  // round to nearest even, as the checkpoint tools do
    out[i] = __nv_bfloat16(raw);
  }
  return out;
}

template <typename T>
DeviceArray<T> Upload(const std::vector<T>& host) {
  DeviceArray<T> device(host.size());
  device.CopyFromHost(host);
  return device;
}

DeviceArray<__nv_bfloat16> UploadBf16(const std::vector<float>& host) { return Upload(ToBf16(host)); }

}  // namespace

int64_t CudaModelWeights::bytes() const {
  int64_t total = embeddings.bytes() + final_norm.bytes() + lm_head.bytes();
  for (const CudaLayerWeights& l : layers) {
    total += l.attn_norm.bytes() + l.attn_in_proj.bytes() + l.gk_up_proj.bytes() + l.gk_bias.bytes() +
             l.o_proj.bytes() + l.output_norm.bytes() + l.mlp_norm.bytes() + l.mlp_gate_up_proj.bytes() +
             l.mlp_down_proj.bytes();
  }
  return total;
}

CudaModelWeights CudaModelWeights::Build(const ModelConfig& c, const TensorSource& source) {
  const int64_t d = c.hidden_size, inter = c.intermediate_size, r = c.gate_low_rank_dim;
  auto stack = [&](std::initializer_list<std::pair<std::string, int64_t>> parts) {
    std::vector<float> stacked;
    for (const auto& [name, rows] : parts) {
      std::vector<float> part = source(name, rows * d);
      stacked.insert(stacked.end(), part.begin(), part.end());
    }
    return stacked;
  };

  CudaModelWeights w;
  w.embeddings = UploadBf16(source("model.embeddings.weight", c.vocab_size * d));
  w.final_norm = Upload(source("model.norm.weight", d));
  if (!c.tie_word_embeddings) w.lm_head = UploadBf16(source("lm_head.weight", c.vocab_size * d));
  const float q_scale = 1.0f / std::sqrt(static_cast<float>(c.head_k_dim));
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = absl::StrCat("model.layers.", i, ".");
    CudaLayerWeights layer;
    layer.attn_norm = Upload(source(p + "attn_norm.weight", d));
    std::vector<float> in_proj =
        c.use_output_gate
            ? stack({{p + "attn.q_proj.weight", c.key_dim}, {p + "attn.k_proj.weight", c.kv_key_dim()},
                     {p + "attn.v_proj.weight", c.kv_value_dim()}, {p + "attn.g_proj.weight", c.value_dim},
                     {p + "attn.gk_proj.0.weight", r}})
            : stack({{p + "attn.q_proj.weight", c.key_dim}, {p + "attn.k_proj.weight", c.kv_key_dim()},
                     {p + "attn.v_proj.weight", c.kv_value_dim()}, {p + "attn.gk_proj.0.weight", r}});
    // The dk^-0.5 scale goes on q (DESIGN.md section 1): folded into q's rows, the first Kd.
    for (int64_t e = 0; e < c.key_dim * d; ++e) in_proj[e] *= q_scale;
    layer.attn_in_proj = UploadBf16(in_proj);
    layer.gk_up_proj = Upload(source(p + "attn.gk_proj.1.weight", c.kv_key_dim() * r));
    layer.gk_bias = Upload(source(p + "attn.gk_proj.1.bias", c.kv_key_dim()));
    layer.o_proj = UploadBf16(source(p + "attn.o_proj.weight", d * c.value_dim));
    layer.output_norm = Upload(source(
        p + (c.output_norm_is_fused() ? "attn.g_norm_swish_gate.weight" : "attn.g_norm.weight"), c.head_v_dim));
    layer.mlp_norm = Upload(source(p + "mlp_norm.weight", d));
    layer.mlp_gate_up_proj = UploadBf16(stack({{p + "mlp.gate_proj.weight", inter}, {p + "mlp.up_proj.weight", inter}}));
    layer.mlp_down_proj = UploadBf16(source(p + "mlp.down_proj.weight", d * inter));
    w.layers.push_back(std::move(layer));
  }
  return w;
}

CudaModelWeights CudaModelWeights::Load(const Checkpoint& checkpoint) {
  return Build(checkpoint.config(), [&](const std::string& name, int64_t num_elements) {
    std::vector<float> values = checkpoint.TensorAsFloat(name);
    CHECK_EQ(static_cast<int64_t>(values.size()), num_elements) << name;
    return values;
  });
}

CudaModelWeights CudaModelWeights::Random(const ModelConfig& c, uint64_t seed) {
  return Build(c, [&](const std::string& name, int64_t num_elements) {
    // Norm weights near 1, the gate bias small, matmul weights ~ N(0, 1/in) by a cheap
    // xorshift (uniform with that variance): billions of values must be quick to make.
    const bool is_norm = name.find("norm") != std::string::npos;
    const bool is_bias = name.find("bias") != std::string::npos;
    const int64_t fan_in = name.find("down_proj") != std::string::npos ? c.intermediate_size
                           : name.find("o_proj") != std::string::npos ? c.value_dim
                           : name.find("gk_proj.1") != std::string::npos ? c.gate_low_rank_dim
                                                                          : c.hidden_size;
    const float scale = std::sqrt(3.0f / static_cast<float>(fan_in));
    uint64_t state = seed ^ (std::hash<std::string>{}(name) | 1);
    std::vector<float> values(num_elements);
    for (float& v : values) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      const float u = static_cast<float>(state >> 40) * (1.0f / static_cast<float>(1 << 24)) * 2.0f - 1.0f;
      v = is_norm ? 1.0f + 0.1f * u : is_bias ? 0.5f * u : scale * u;
    }
    return values;
  });
}

}  // namespace glaserve
