// Chooses the next token of one sequence from the model's logits: the CPU reference
// sampler. The CUDA sampler must agree with Probabilities() below.
//
// Order of operations (as vLLM's):
//   1. banned ids (EOS and stop ids before min_tokens) get -inf;
//   2. repetition penalty on every token seen in the prompt or output (HF rule: a
//      positive logit is divided by the penalty, any other is multiplied by it);
//   3. presence and frequency penalties on output tokens only:
//      logit -= presence * 1[count > 0] + frequency * count;
//   4. temperature < 1e-5 (0 included): greedy argmax, ties to the lowest id; stop here;
//   5. divide by temperature;
//   6. top-k: keep the k highest (ties to the lowest id);
//   7. top-p: keep the smallest best-first prefix whose probability, renormalised over
//      what top-k kept, reaches top_p (always at least one token);
//   8. min-p: keep tokens with p >= min_p * p_max;
//   9. draw from what is left.
//
// Reported logprobs are the log-softmax of the RAW logits (before steps 1-8), as
// OpenAI and vLLM report by default: they describe the model rather than this
// request's knobs, so they compare across requests.
#ifndef GLASERVE_ENGINE_SAMPLER_H_
#define GLASERVE_ENGINE_SAMPLER_H_

#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/sampling_params.h"

namespace glaserve {

struct TokenLogprob {
  int32_t token_id;
  float logprob;
};

struct SampledToken {
  int32_t token_id;
  float logprob;                  // of token_id under the raw logits
  std::vector<TokenLogprob> top;  // params.logprobs best raw tokens, best first
};

// What a backend that samples on its device (ModelRunner::ForwardAndSample) needs to
// draw one sequence's next token by the rules above. Draws there come from a
// counter-based generator keyed by (seed, draw_index): a seeded request is reproducible
// on that backend, though its draws differ from this class's (another generator).
struct DeviceSamplingRequest {
  const SamplingParams* params = nullptr;
  uint64_t seed = 0;
  uint64_t draw_index = 0;  // tokens drawn before this one
  std::span<const int32_t> penalty_token_ids;      // distinct ids the penalties apply to
  std::span<const int32_t> penalty_output_counts;  // each one's count among output tokens
  std::span<const int32_t> banned_token_ids;
};

// One per sequence; not thread-safe. Memory is O(distinct prompt and output tokens),
// never O(vocab), because thousands of sequences each own one.
class Sampler {
 public:
  // `params` must have passed ValidateSamplingParams. The prompt is only remembered
  // when the repetition penalty is on.
  Sampler(const SamplingParams& params, std::span<const int32_t> prompt_token_ids);

  // Draws a token. `logits` is [vocab] fp32. At least one id must not be banned.
  SampledToken Sample(std::span<const float> logits, std::span<const int32_t> banned_token_ids);

  // Records a generated token for the penalties of later steps.
  void Accept(int32_t token_id);

  int32_t num_output_tokens() const { return num_output_tokens_; }

  // For drawing on the device (engine/model_runner.h DeviceSamplingRequest): this
  // sampler's seed (the request's, or the random one it chose), and the tokens its
  // penalties apply to with their counts among output tokens (empty with penalties off).
  uint64_t seed() const { return seed_; }
  void PenaltyTokens(std::vector<int32_t>& token_ids, std::vector<int32_t>& output_counts) const;

  // Steps 1-3 only: the logits the sampling rules see. For tests and reference checks.
  std::vector<float> PenalizedLogits(std::span<const float> logits,
                                     std::span<const int32_t> banned_token_ids) const;

  // Steps 1-8: the [vocab] probabilities Sample draws from (one-hot when greedy).
  std::vector<float> Probabilities(std::span<const float> logits,
                                   std::span<const int32_t> banned_token_ids) const;

 private:
  bool greedy() const;

  // Runs steps 5-8 on penalized `scores`: returns the ids that may be drawn and turns
  // their entries of `scores` into unnormalised probabilities.
  std::vector<int32_t> KeepCandidates(std::vector<float>& scores) const;

  SamplingParams params_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::unordered_set<int32_t> seen_token_ids_;             // prompt + output; step 2
  std::unordered_map<int32_t, int32_t> output_counts_;     // output only; step 3
  int32_t num_output_tokens_ = 0;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_SAMPLER_H_
