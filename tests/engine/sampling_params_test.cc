#include "engine/sampling_params.h"

#include <functional>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace glaserve {
namespace {

using ::testing::HasSubstr;

constexpr int32_t kVocabSize = 1000;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(SamplingParamsTest, DefaultsAreValid) {
  EXPECT_TRUE(ValidateSamplingParams(SamplingParams(), kVocabSize).ok());
}

TEST(SamplingParamsTest, BoundaryValuesAreValid) {
  SamplingParams params;
  params.max_tokens = kMaxMaxTokens;
  params.min_tokens = kMaxMaxTokens;
  params.temperature = 0.0f;
  params.top_k = kVocabSize * 2;  // larger than the vocabulary just means off
  params.top_p = 1e-6f;
  params.min_p = 1.0f;
  params.repetition_penalty = 10.0f;
  params.presence_penalty = -2.0f;
  params.frequency_penalty = 2.0f;
  params.seed = ~uint64_t{0};
  params.stop = std::vector<std::string>(16, std::string(256, 'x'));
  params.stop_token_ids = {0, kVocabSize - 1};
  params.logprobs = 20;
  EXPECT_TRUE(ValidateSamplingParams(params, kVocabSize).ok());
}

struct BadCase {
  std::string name;                          // for the test log
  std::function<void(SamplingParams&)> set;  // makes the defaults invalid
  std::string message;                       // expected part of the error
};

class SamplingParamsBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(SamplingParamsBadTest, IsInvalidArgumentNamingTheField) {
  SamplingParams params;
  GetParam().set(params);
  const absl::Status status = ValidateSamplingParams(params, kVocabSize);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    AllFields, SamplingParamsBadTest,
    ::testing::Values(
        BadCase{"MaxTokensZero", [](SamplingParams& p) { p.max_tokens = 0; },
                "max_tokens=0 is out of range: must be in [1, 1048576]"},
        BadCase{"MaxTokensHuge", [](SamplingParams& p) { p.max_tokens = kMaxMaxTokens + 1; },
                "max_tokens=1048577"},
        BadCase{"MinTokensNegative", [](SamplingParams& p) { p.min_tokens = -1; },
                "min_tokens=-1"},
        BadCase{"MinTokensAboveMax", [](SamplingParams& p) { p.min_tokens = 257; },
                "min_tokens=257 is out of range: must be in [0, max_tokens=256]"},
        BadCase{"TemperatureNegative", [](SamplingParams& p) { p.temperature = -0.5f; },
                "temperature=-0.5 is out of range: must be in [0, 100]"},
        BadCase{"TemperatureHuge", [](SamplingParams& p) { p.temperature = 101; },
                "temperature=101"},
        BadCase{"TemperatureInf", [](SamplingParams& p) { p.temperature = kInf; },
                "temperature=inf"},
        BadCase{"TemperatureNaN", [](SamplingParams& p) { p.temperature = kNaN; },
                "temperature=nan"},
        BadCase{"TopKMinusOne", [](SamplingParams& p) { p.top_k = -1; },
                "top_k=-1 is out of range: must be >= 0"},
        BadCase{"TopPZero", [](SamplingParams& p) { p.top_p = 0; },
                "top_p=0 is out of range: must be in (0, 1]"},
        BadCase{"TopPAboveOne", [](SamplingParams& p) { p.top_p = 1.5f; },
                "top_p=1.5 is out of range: must be in (0, 1]"},
        BadCase{"TopPNaN", [](SamplingParams& p) { p.top_p = kNaN; }, "top_p=nan"},
        BadCase{"MinPNegative", [](SamplingParams& p) { p.min_p = -0.1f; },
                "min_p=-0.1 is out of range: must be in [0, 1]"},
        BadCase{"MinPNaN", [](SamplingParams& p) { p.min_p = kNaN; }, "min_p=nan"},
        BadCase{"RepetitionZero", [](SamplingParams& p) { p.repetition_penalty = 0; },
                "repetition_penalty=0 is out of range: must be in (0, 10]"},
        BadCase{"RepetitionHuge", [](SamplingParams& p) { p.repetition_penalty = 11; },
                "repetition_penalty=11"},
        BadCase{"RepetitionNaN", [](SamplingParams& p) { p.repetition_penalty = kNaN; },
                "repetition_penalty=nan"},
        BadCase{"PresenceLow", [](SamplingParams& p) { p.presence_penalty = -2.5f; },
                "presence_penalty=-2.5 is out of range: must be in [-2, 2]"},
        BadCase{"PresenceNaN", [](SamplingParams& p) { p.presence_penalty = kNaN; },
                "presence_penalty=nan"},
        BadCase{"FrequencyHigh", [](SamplingParams& p) { p.frequency_penalty = 3; },
                "frequency_penalty=3 is out of range: must be in [-2, 2]"},
        BadCase{"FrequencyNaN", [](SamplingParams& p) { p.frequency_penalty = kNaN; },
                "frequency_penalty=nan"},
        BadCase{"TooManyStops",
                [](SamplingParams& p) { p.stop = std::vector<std::string>(17, "x"); },
                "stop has 17 strings: at most 16 are allowed"},
        BadCase{"EmptyStop", [](SamplingParams& p) { p.stop = {"a", ""}; },
                "stop[1] is empty"},
        BadCase{"LongStop", [](SamplingParams& p) { p.stop = {std::string(257, 'x')}; },
                "stop[0] is 257 bytes long: at most 256 are allowed"},
        BadCase{"StopIdNegative", [](SamplingParams& p) { p.stop_token_ids = {5, -1}; },
                "stop_token_ids[1]=-1 is out of range: must be in [0, 1000)"},
        BadCase{"StopIdPastVocab", [](SamplingParams& p) { p.stop_token_ids = {1000}; },
                "stop_token_ids[0]=1000"},
        BadCase{"LogprobsNegative", [](SamplingParams& p) { p.logprobs = -1; },
                "logprobs=-1 is out of range: must be in [0, 20]"},
        BadCase{"LogprobsHigh", [](SamplingParams& p) { p.logprobs = 21; }, "logprobs=21"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

}  // namespace
}  // namespace glaserve
