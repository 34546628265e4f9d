// Fuzz target: config.json text as ParseModelConfig reads it. A config it accepts must
// describe a model the runners can be built for: positive sizes that divide evenly.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/model_config.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<glaserve::ModelConfig> config =
      glaserve::ParseModelConfig(std::string(reinterpret_cast<const char*>(data), size));
  if (!config.ok()) {
    FUZZ_CHECK(!config.status().message().empty());
    return 0;
  }
  const glaserve::ModelConfig& c = *config;
  FUZZ_CHECK(c.hidden_size > 0 && c.num_hidden_layers > 0 && c.num_heads > 0 && c.vocab_size > 0);
  FUZZ_CHECK(c.num_kv_heads > 0 && c.num_heads % c.num_kv_heads == 0);
  FUZZ_CHECK(c.head_k_dim > 0 && c.head_k_dim * c.num_heads == c.key_dim);
  FUZZ_CHECK(c.head_v_dim > 0 && c.head_v_dim * c.num_heads == c.value_dim);
  FUZZ_CHECK(c.intermediate_size > 0 && c.gate_low_rank_dim > 0);
  FUZZ_CHECK(c.bos_token_id >= 0 && c.bos_token_id < c.vocab_size);
  FUZZ_CHECK(c.eos_token_id >= 0 && c.eos_token_id < c.vocab_size);
  FUZZ_CHECK(c.norm_eps > 0 && c.gate_logit_normalizer > 0);
  return 0;
}
