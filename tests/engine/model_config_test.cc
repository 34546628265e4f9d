#include "engine/model_config.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace glaserve {
namespace {

using ::testing::HasSubstr;

TEST(ModelConfigTest, Gla340MShapeAndDefaults) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig(R"({
    "model_type": "gla", "hidden_size": 1024, "num_hidden_layers": 24, "num_heads": 4,
    "vocab_size": 32000, "tie_word_embeddings": true, "num_kv_heads": null,
    "intermediate_size": null})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->num_kv_heads, 4);
  EXPECT_EQ(c->head_k_dim, 128);  // 1024 * 0.5 / 4
  EXPECT_EQ(c->head_v_dim, 256);  // 1024 * 1.0 / 4
  // 256 * ceil(int(1024 * 4 * 2 / 3) / 256) = 256 * ceil(2730 / 256) = 2816
  EXPECT_EQ(c->intermediate_size, 2816);
  EXPECT_EQ(c->bos_token_id, 1);
  EXPECT_EQ(c->eos_token_id, 2);
  EXPECT_DOUBLE_EQ(c->norm_eps, 1e-6);
  EXPECT_TRUE(c->use_output_gate);
  EXPECT_FALSE(c->clamp_min.has_value());
  EXPECT_EQ(c->state_elements_per_sequence(), 24 * 4 * 128 * 256);
}

TEST(ModelConfigTest, Gla13BShape) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig(R"({
    "hidden_size": 2048, "num_hidden_layers": 24, "num_heads": 4, "vocab_size": 32000,
    "intermediate_size": 5632, "tie_word_embeddings": false})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->head_k_dim, 256);
  EXPECT_EQ(c->head_v_dim, 512);
  EXPECT_EQ(c->intermediate_size, 5632);
  EXPECT_EQ(c->state_elements_per_sequence(), 24 * 4 * 256 * 512);
}

TEST(ModelConfigTest, GroupedKvHeadsShareState) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig(R"({
    "hidden_size": 128, "num_hidden_layers": 2, "num_heads": 4, "num_kv_heads": 2,
    "vocab_size": 100, "clamp_min": -5.0})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kv_group_size(), 2);
  EXPECT_EQ(c->kv_key_dim(), 2 * 16);
  EXPECT_EQ(c->state_elements_per_sequence(), 2 * 2 * 32 * 16);
  ASSERT_TRUE(c->clamp_min.has_value());
  EXPECT_DOUBLE_EQ(*c->clamp_min, -5.0);
}

struct BadConfig {
  std::string extra;     // appended fields
  std::string message;   // expected in the error
};

class ModelConfigRejectTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ModelConfigRejectTest, NamesFieldAndValue) {
  const std::string json = R"({"hidden_size": 64, "num_hidden_layers": 2, "num_heads": 2,
      "vocab_size": 100)" + GetParam().extra + "}";
  absl::StatusOr<ModelConfig> c = ParseModelConfig(json);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Unsupported, ModelConfigRejectTest,
    ::testing::Values(BadConfig{R"(, "use_short_conv": true)", "use_short_conv=true is not supported"},
                      BadConfig{R"(, "feature_map": "relu")", "feature_map=\"relu\" is not supported"},
                      BadConfig{R"(, "attn": {"layers": [1]})", "attn="},
                      BadConfig{R"(, "use_gv": true)", "use_gv=true is not supported"},
                      BadConfig{R"(, "use_gk": false)", "use_gk=false"},
                      BadConfig{R"(, "hidden_act": "gelu")", "hidden_act=\"gelu\" is not supported"},
                      BadConfig{R"(, "model_type": "llama")", "model_type=\"llama\""},
                      BadConfig{R"(, "num_kv_heads": 3)", "num_kv_heads=3 must divide num_heads=2"},
                      BadConfig{R"(, "expand_k": 0.01)", "expand_k=0.01"},
                      BadConfig{R"(, "eos_token_id": 500)", "eos_token_id=500 is outside"},
                      BadConfig{R"(, "norm_eps": "tiny")", "norm_eps=\"tiny\" is not a number"},
                      BadConfig{R"(, "tie_word_embeddings": 1)", "tie_word_embeddings=1 is not a boolean"},
                      // Sizes too large for int64 products (found by the config fuzz target).
                      BadConfig{R"(, "vocab_size": 9223372036854775807)", "vocab_size=9223372036854775807 is larger"},
                      BadConfig{R"(, "expand_v": 1e300)", "expand_v=1e+300 gives value dim"},
                      BadConfig{R"(, "hidden_ratio": -4, "intermediate_size": null)", "hidden_ratio=-4 gives MLP width"}));

TEST(ModelConfigTest, MissingRequiredFieldIsNamed) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig(R"({"hidden_size": 64, "num_heads": 2, "vocab_size": 10})");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("num_hidden_layers=0"));
}

TEST(ModelConfigTest, InvalidJsonIsRejected) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig("{\"hidden_size\": 64,");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("not valid JSON"));
}

}  // namespace
}  // namespace glaserve
