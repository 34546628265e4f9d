// How one request wants its tokens chosen and when generation stops. Field meanings
// and ranges follow vLLM's SamplingParams so clients can move between the two.
#ifndef GLASERVE_ENGINE_SAMPLING_PARAMS_H_
#define GLASERVE_ENGINE_SAMPLING_PARAMS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace glaserve {

// Upper bounds enforced by ValidateSamplingParams.
inline constexpr int32_t kMaxMaxTokens = 1 << 20;
inline constexpr float kMaxTemperature = 100.0f;
inline constexpr float kMaxRepetitionPenalty = 10.0f;
inline constexpr float kMaxAbsPresenceOrFrequencyPenalty = 2.0f;
inline constexpr int32_t kMaxNumStopStrings = 16;
inline constexpr int32_t kMaxStopStringBytes = 256;
inline constexpr int32_t kMaxLogprobs = 20;

struct SamplingParams {
  int32_t max_tokens = 256;  // generated tokens at most, in [1, kMaxMaxTokens]
  int32_t min_tokens = 0;    // EOS and stop ids are banned until this many are generated
  // 0 means greedy argmax; so does anything below 1e-5, as in vLLM.
  float temperature = 1.0f;
  int32_t top_k = 0;         // 0 = off; -1 (vLLM's "off") is rejected to keep one spelling
  float top_p = 1.0f;        // 1 = off
  float min_p = 0.0f;        // 0 = off
  float repetition_penalty = 1.0f;  // 1 = off; applies to prompt and generated tokens
  float presence_penalty = 0.0f;    // applies to generated tokens only
  float frequency_penalty = 0.0f;   // applies to generated tokens only
  std::optional<uint64_t> seed;     // unset = nondeterministic
  std::vector<std::string> stop;    // stop strings, excluded from the output
  std::vector<int32_t> stop_token_ids;
  bool ignore_eos = false;
  int32_t logprobs = 0;  // how many top alternatives to report per token, in [0, kMaxLogprobs]
};

// Returns INVALID_ARGUMENT naming the first bad field, its value and what is allowed,
// e.g. "top_p=1.5 is out of range: must be in (0, 1]". NaN is rejected everywhere.
absl::Status ValidateSamplingParams(const SamplingParams& params, int32_t vocab_size);

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_SAMPLING_PARAMS_H_
