#include "engine/sampling_params.h"

#include <cstddef>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/check.h"

namespace glaserve {
namespace {

template <typename T>
absl::Status OutOfRange(absl::string_view field, T value, absl::string_view allowed) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, "=", value, " is out of range: must be ", allowed));
}

// A float field and its allowed interval: [lo, hi], or (lo, hi] when lo_open.
struct FloatRange {
  absl::string_view field;
  float value;
  float lo;
  bool lo_open;
  float hi;
};

// Written as !(in range) so that NaN, which fails every comparison, is rejected too.
absl::Status CheckFloat(const FloatRange& r) {
  const bool above_lo = r.lo_open ? r.value > r.lo : r.value >= r.lo;
  if (above_lo && r.value <= r.hi) return absl::OkStatus();
  return OutOfRange(r.field, r.value,
                    absl::StrCat("in ", r.lo_open ? "(" : "[", r.lo, ", ", r.hi, "]"));
}

absl::Status ValidateStops(const SamplingParams& params, int32_t vocab_size) {
  if (params.stop.size() > static_cast<size_t>(kMaxNumStopStrings)) {
    return absl::InvalidArgumentError(absl::StrCat("stop has ", params.stop.size(),
                                                   " strings: at most ", kMaxNumStopStrings,
                                                   " are allowed"));
  }
  for (size_t i = 0; i < params.stop.size(); ++i) {
    const std::string& stop = params.stop[i];
    if (stop.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("stop[", i, "] is empty: stop strings must be non-empty"));
    }
    if (stop.size() > static_cast<size_t>(kMaxStopStringBytes)) {
      return absl::InvalidArgumentError(absl::StrCat("stop[", i, "] is ", stop.size(),
                                                     " bytes long: at most ",
                                                     kMaxStopStringBytes, " are allowed"));
    }
  }
  for (size_t i = 0; i < params.stop_token_ids.size(); ++i) {
    const int32_t id = params.stop_token_ids[i];
    if (id < 0 || id >= vocab_size) {
      return OutOfRange(absl::StrCat("stop_token_ids[", i, "]"), id,
                        absl::StrCat("in [0, ", vocab_size, ") (the vocabulary)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSamplingParams(const SamplingParams& params, int32_t vocab_size) {
  CHECK_GT(vocab_size, 0) << "ValidateSamplingParams needs the model's vocabulary size";
  if (params.max_tokens < 1 || params.max_tokens > kMaxMaxTokens) {
    return OutOfRange("max_tokens", params.max_tokens, absl::StrCat("in [1, ", kMaxMaxTokens, "]"));
  }
  if (params.min_tokens < 0 || params.min_tokens > params.max_tokens) {
    return OutOfRange("min_tokens", params.min_tokens,
                      absl::StrCat("in [0, max_tokens=", params.max_tokens, "]"));
  }
  if (params.top_k < 0) {
    return OutOfRange("top_k", params.top_k, ">= 0 (0 disables top-k)");
  }
  constexpr float kPenalty = kMaxAbsPresenceOrFrequencyPenalty;
  const FloatRange float_ranges[] = {
      {"temperature", params.temperature, 0, false, kMaxTemperature},
      {"top_p", params.top_p, 0, true, 1},
      {"min_p", params.min_p, 0, false, 1},
      {"repetition_penalty", params.repetition_penalty, 0, true, kMaxRepetitionPenalty},
      {"presence_penalty", params.presence_penalty, -kPenalty, false, kPenalty},
      {"frequency_penalty", params.frequency_penalty, -kPenalty, false, kPenalty},
  };
  for (const FloatRange& range : float_ranges) {
    if (absl::Status s = CheckFloat(range); !s.ok()) return s;
  }
  if (absl::Status s = ValidateStops(params, vocab_size); !s.ok()) return s;
  if (params.logprobs < 0 || params.logprobs > kMaxLogprobs) {
    return OutOfRange("logprobs", params.logprobs, absl::StrCat("in [0, ", kMaxLogprobs, "]"));
  }
  return absl::OkStatus();
}

}  // namespace glaserve
