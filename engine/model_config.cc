#include "engine/model_config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace glaserve {
namespace {

using Json = nlohmann::json;

absl::Status FieldError(const char* field, const Json& value, const char* what) {
  return absl::InvalidArgumentError(
      absl::StrCat("config.json: ", field, "=", value.dump(), " ", what));
}

// Reads an optional integer field; null or absent keeps `*out`.
absl::Status ReadInt(const Json& config, const char* field, int64_t* out) {
  auto it = config.find(field);
  if (it == config.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number_integer()) return FieldError(field, *it, "is not an integer");
  *out = it->get<int64_t>();
  return absl::OkStatus();
}

absl::Status ReadDouble(const Json& config, const char* field, double* out) {
  auto it = config.find(field);
  if (it == config.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number()) return FieldError(field, *it, "is not a number");
  *out = it->get<double>();
  if (!std::isfinite(*out)) return FieldError(field, *it, "is not finite");
  return absl::OkStatus();
}

absl::Status ReadBool(const Json& config, const char* field, bool* out) {
  auto it = config.find(field);
  if (it == config.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) return FieldError(field, *it, "is not a boolean");
  *out = it->get<bool>();
  return absl::OkStatus();
}

// Far beyond any real model (hidden sizes are ~1e4, vocabularies ~1e5), and small enough
// that products of sizes (weights, a state of L x H x dv x dk) cannot overflow int64.
constexpr int64_t kMaxDimension = int64_t{1} << 20;

absl::Status RequirePositive(const char* field, int64_t value) {
  if (value > kMaxDimension) {
    return absl::InvalidArgumentError(absl::StrCat("config.json: ", field, "=", value,
                                                   " is larger than the largest supported (", kMaxDimension, ")"));
  }
  if (value > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("config.json: ", field, "=", value, " must be a positive integer"));
}

// int(x) of a size computed in floating point, or an error naming `field` when it is not
// in [1, kMaxDimension] (checked before the cast: a huge double does not fit int64).
absl::StatusOr<int64_t> DerivedDimension(const char* field, double field_value, double value, const char* what) {
  if (!(value >= 1 && value <= static_cast<double>(kMaxDimension))) {
    return absl::InvalidArgumentError(absl::StrCat("config.json: ", field, "=", field_value, " gives ", what, " ",
                                                   value, ", outside [1, ", kMaxDimension, "]"));
  }
  return static_cast<int64_t>(value);
}

// Options that change the model's math in ways we do not implement. Any truthy value
// (true, a non-empty string or object) is refused rather than silently ignored.
absl::Status RefuseUnsupported(const Json& config) {
  for (const char* field : {"use_short_conv", "use_gv"}) {
    auto it = config.find(field);
    if (it != config.end() && !it->is_null() && *it != false) {
      return FieldError(field, *it, "is not supported");
    }
  }
  for (const char* field : {"feature_map", "attn"}) {
    auto it = config.find(field);
    if (it != config.end() && !it->is_null()) return FieldError(field, *it, "is not supported");
  }
  for (const char* field : {"hidden_act", "gate_fn"}) {
    auto it = config.find(field);
    if (it == config.end() || it->is_null()) continue;
    if (!it->is_string() || (*it != "swish" && *it != "silu")) {
      return FieldError(field, *it, "is not supported (allowed: \"swish\", \"silu\")");
    }
  }
  // Without the key gate (use_gk=false) the model is not GLA's recurrence.
  auto use_gk = config.find("use_gk");
  if (use_gk != config.end() && *use_gk == false) return FieldError("use_gk", *use_gk, "is not supported");
  auto affine = config.find("elementwise_affine");
  if (affine != config.end() && *affine == false) {
    return FieldError("elementwise_affine", *affine, "is not supported");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ModelConfig> ParseModelConfig(const std::string& json_text) {
  Json config = Json::parse(json_text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded()) return absl::InvalidArgumentError("config.json is not valid JSON");
  if (!config.is_object()) return absl::InvalidArgumentError("config.json is not a JSON object");

  auto model_type = config.find("model_type");
  if (model_type != config.end() && *model_type != "gla") {
    return FieldError("model_type", *model_type, "is not supported (allowed: \"gla\")");
  }
  if (absl::Status s = RefuseUnsupported(config); !s.ok()) return s;

  ModelConfig c;
  int64_t num_kv_heads = 0;
  int64_t intermediate_size = 0;
  int64_t bos = c.bos_token_id, eos = c.eos_token_id;
  std::optional<double> clamp_min_value;
  double clamp_min = 0;
  for (absl::Status s : {
           ReadInt(config, "hidden_size", &c.hidden_size),
           ReadInt(config, "num_hidden_layers", &c.num_hidden_layers),
           ReadInt(config, "num_heads", &c.num_heads),
           ReadInt(config, "num_kv_heads", &num_kv_heads),
           ReadDouble(config, "expand_k", &c.expand_k),
           ReadDouble(config, "expand_v", &c.expand_v),
           ReadDouble(config, "hidden_ratio", &c.hidden_ratio),
           ReadInt(config, "intermediate_size", &intermediate_size),
           ReadDouble(config, "norm_eps", &c.norm_eps),
           ReadInt(config, "vocab_size", &c.vocab_size),
           ReadBool(config, "tie_word_embeddings", &c.tie_word_embeddings),
           ReadInt(config, "bos_token_id", &bos),
           ReadInt(config, "eos_token_id", &eos),
           ReadBool(config, "use_output_gate", &c.use_output_gate),
           ReadBool(config, "fuse_norm", &c.fuse_norm),
           ReadInt(config, "gate_low_rank_dim", &c.gate_low_rank_dim),
           ReadDouble(config, "gate_logit_normalizer", &c.gate_logit_normalizer),
           ReadDouble(config, "clamp_min", &clamp_min),
       }) {
    if (!s.ok()) return s;
  }
  if (auto it = config.find("clamp_min"); it != config.end() && !it->is_null()) {
    clamp_min_value = clamp_min;
  }
  c.clamp_min = clamp_min_value;
  if (auto it = config.find("hidden_act"); it != config.end() && it->is_string()) {
    c.hidden_act = it->get<std::string>();
  }
  c.num_kv_heads = num_kv_heads > 0 ? num_kv_heads : c.num_heads;
  c.bos_token_id = static_cast<int32_t>(bos);
  c.eos_token_id = static_cast<int32_t>(eos);

  for (auto [field, value] : {std::pair{"hidden_size", c.hidden_size},
                              {"num_hidden_layers", c.num_hidden_layers},
                              {"num_heads", c.num_heads},
                              {"vocab_size", c.vocab_size},
                              {"gate_low_rank_dim", c.gate_low_rank_dim},
                              {"num_kv_heads", c.num_kv_heads}}) {
    if (absl::Status s = RequirePositive(field, value); !s.ok()) return s;
  }
  if (num_kv_heads < 0 || c.num_heads % c.num_kv_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat("config.json: num_kv_heads=", num_kv_heads,
                                                   " must divide num_heads=", c.num_heads));
  }
  if (c.norm_eps <= 0) return FieldError("norm_eps", c.norm_eps, "must be > 0");
  if (c.gate_logit_normalizer <= 0) {
    return FieldError("gate_logit_normalizer", c.gate_logit_normalizer, "must be > 0");
  }
  for (auto [field, id] : {std::pair{"bos_token_id", bos}, {"eos_token_id", eos}}) {
    if (id < 0 || id >= c.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("config.json: ", field, "=", id,
                                                     " is outside the vocabulary [0, ",
                                                     c.vocab_size, ")"));
    }
  }

  // Python's int() truncation, as fla computes these.
  absl::StatusOr<int64_t> key_dim = DerivedDimension("expand_k", c.expand_k, c.hidden_size * c.expand_k, "key dim");
  if (!key_dim.ok()) return key_dim.status();
  absl::StatusOr<int64_t> value_dim = DerivedDimension("expand_v", c.expand_v, c.hidden_size * c.expand_v, "value dim");
  if (!value_dim.ok()) return value_dim.status();
  c.key_dim = *key_dim;
  c.value_dim = *value_dim;
  if (c.key_dim <= 0 || c.key_dim % c.num_heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: expand_k=", c.expand_k, " gives key dim ", c.key_dim,
                     ", which is not a positive multiple of num_heads=", c.num_heads));
  }
  if (c.value_dim <= 0 || c.value_dim % c.num_heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: expand_v=", c.expand_v, " gives value dim ", c.value_dim,
                     ", which is not a positive multiple of num_heads=", c.num_heads));
  }
  c.head_k_dim = c.key_dim / c.num_heads;
  c.head_v_dim = c.value_dim / c.num_heads;
  if (intermediate_size > 0) {
    if (absl::Status s = RequirePositive("intermediate_size", intermediate_size); !s.ok()) return s;
    c.intermediate_size = intermediate_size;
  } else {
    absl::StatusOr<int64_t> base =
        DerivedDimension("hidden_ratio", c.hidden_ratio, c.hidden_size * c.hidden_ratio * 2 / 3, "MLP width");
    if (!base.ok()) return base.status();
    c.intermediate_size = 256 * ((*base + 255) / 256);
  }
  return c;
}

absl::StatusOr<ModelConfig> LoadModelConfig(const std::filesystem::path& dir) {
  std::filesystem::path path = dir / "config.json";
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<ModelConfig> config = ParseModelConfig(text.str());
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path.string(), ": ", config.status().message()));
  }
  return config;
}

}  // namespace glaserve
