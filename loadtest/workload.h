// What a load test sends: request i's prompt length, output length and prompt are a pure
// function of (seed, i), so a run is reproducible whatever order the requests finish in,
// and two runs with the same seed send the same prompts.
#ifndef GLASERVE_LOADTEST_WORKLOAD_H_
#define GLASERVE_LOADTEST_WORKLOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "loadtest/length_distribution.h"

namespace glaserve::loadtest {

struct WorkloadOptions {
  LengthDistribution prompt_lengths = LengthDistribution::Fixed(128);
  LengthDistribution output_lengths = LengthDistribution::Fixed(128);
  // The first this many prompt tokens are the same in every request; prompts drawn
  // shorter than that are lengthened to it.
  int32_t shared_prefix_tokens = 0;
  uint64_t seed = 0;
};

// One request, decided before the run.
struct RequestSpec {
  int64_t index = 0;
  // Prompt tokens as the server counts them (usage.prompt_tokens, BOS included).
  int32_t prompt_tokens = 0;
  int32_t max_tokens = 0;
  // Draws this request's prompt token ids after the shared prefix.
  uint64_t prompt_seed = 0;
  uint64_t sampling_seed = 0;
};

class Workload {
 public:
  // Token-id prompts are drawn from [0, vocab_size) minus `avoid_ids` (BOS, EOS: a
  // prompt full of them would not look like text to the model).
  Workload(WorkloadOptions options, int32_t vocab_size, std::vector<int32_t> avoid_ids);

  RequestSpec Spec(int64_t index) const;
  // The prompt of `spec` as token ids: the shared prefix, then ids drawn from its seed.
  std::vector<int32_t> PromptTokenIds(const RequestSpec& spec) const;

  const WorkloadOptions& options() const { return options_; }

 private:
  int32_t RandomTokenId(Random& random) const;

  WorkloadOptions options_;
  int32_t vocab_size_;
  std::vector<int32_t> avoid_ids_;
  std::vector<int32_t> prefix_ids_;
};

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_WORKLOAD_H_
