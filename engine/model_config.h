// The model's hyper-parameters, read from a fla-format config.json (DESIGN.md section 1).
#ifndef GLASERVE_ENGINE_MODEL_CONFIG_H_
#define GLASERVE_ENGINE_MODEL_CONFIG_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace glaserve {

struct ModelConfig {
  // As stored in config.json (defaults of flash-linear-attention's GLAConfig).
  int64_t hidden_size = 0;        // D
  int64_t num_hidden_layers = 0;  // L
  int64_t num_heads = 0;          // H
  int64_t num_kv_heads = 0;       // H_kv (null in the file means H)
  double expand_k = 0.5;
  double expand_v = 1.0;
  double hidden_ratio = 4;
  int64_t intermediate_size = 0;  // I (null in the file means derived, see below)
  double norm_eps = 1e-6;
  int64_t vocab_size = 0;
  bool tie_word_embeddings = false;
  int32_t bos_token_id = 1;
  int32_t eos_token_id = 2;
  bool use_output_gate = true;
  // "swish" or "silu" (the same function). fla passes it on as the output gate's
  // activation and fuses norm and gate (tensor `g_norm_swish_gate`) only for "swish".
  std::string hidden_act = "swish";
  bool fuse_norm = true;
  int64_t gate_low_rank_dim = 16;  // R
  double gate_logit_normalizer = 16;
  std::optional<double> clamp_min;  // lower bound of the log forget gate, if set

  // Derived.
  int64_t key_dim = 0;      // Kd = int(D * expand_k)
  int64_t value_dim = 0;    // Vd = int(D * expand_v)
  int64_t head_k_dim = 0;   // dk = Kd / H
  int64_t head_v_dim = 0;   // dv = Vd / H
  int64_t kv_group_size() const { return num_heads / num_kv_heads; }
  int64_t kv_key_dim() const { return num_kv_heads * head_k_dim; }
  int64_t kv_value_dim() const { return num_kv_heads * head_v_dim; }
  bool output_norm_is_fused() const {
    return use_output_gate && fuse_norm && hidden_act == "swish";
  }

  // Floats in one sequence's state: L x H_kv x dv x dk. Query heads of one kv group
  // share k, v and the gate, so they share one state.
  int64_t state_elements_per_sequence() const {
    return num_hidden_layers * num_kv_heads * head_v_dim * head_k_dim;
  }
};

// Parses a config.json text. Unsupported options (short convolution, feature maps,
// hybrid attention layers, use_gv, activations other than swish/silu) are refused with
// INVALID_ARGUMENT naming the field and its value.
absl::StatusOr<ModelConfig> ParseModelConfig(const std::string& json_text);

// Reads and parses `dir`/config.json.
absl::StatusOr<ModelConfig> LoadModelConfig(const std::filesystem::path& dir);

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_MODEL_CONFIG_H_
