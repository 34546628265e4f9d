#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>

#include "engine/check.h"

namespace glaserve {
namespace {

// Below this, sampling is greedy in all but name; vLLM uses the same cutoff.
constexpr float kGreedyTemperature = 1e-5f;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Orders ids by score, best first; ties go to the lowest id so results are deterministic.
struct BestFirst {
  std::span<const float> scores;
  bool operator()(int32_t a, int32_t b) const {
    return scores[a] != scores[b] ? scores[a] > scores[b] : a < b;
  }
};

// The first maximum, so ties go to the lowest id.
int32_t Argmax(std::span<const float> scores) {
  const auto best = std::max_element(scores.begin(), scores.end());
  CHECK(*best > kNegInf) << "Sample: every token is banned";
  return static_cast<int32_t>(best - scores.begin());
}

// Sorts ids[begin, end) best first, drawing them from ids[begin, size), without sorting
// the rest: heap selection is fastest for short prefixes (most ids fail one comparison),
// linear-time selection and then a sort for long ones.
void SortPrefix(std::vector<int32_t>& ids, size_t begin, size_t end, BestFirst order) {
  const auto first = ids.begin() + begin, middle = ids.begin() + end;
  if (end - begin <= 1024) {
    std::partial_sort(first, middle, ids.end(), order);
  } else {
    std::nth_element(first, middle - 1, ids.end(), order);
    std::sort(first, middle, order);
  }
}

uint64_t RandomSeed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

// Uniform in [0, 1) from 53 random bits; unlike std::uniform_real_distribution, the
// same seed gives the same draws with every standard library.
double UniformDouble(std::mt19937_64& rng) { return (rng() >> 11) * 0x1.0p-53; }

}  // namespace

Sampler::Sampler(const SamplingParams& params, std::span<const int32_t> prompt_token_ids)
    : params_(params), seed_(params.seed.has_value() ? *params.seed : RandomSeed()), rng_(seed_) {
  if (params_.repetition_penalty != 1.0f) {
    seen_token_ids_.insert(prompt_token_ids.begin(), prompt_token_ids.end());
  }
}

bool Sampler::greedy() const { return params_.temperature < kGreedyTemperature; }

void Sampler::Accept(int32_t token_id) {
  CHECK_GE(token_id, 0) << "Accept: negative token id";
  ++num_output_tokens_;
  if (params_.repetition_penalty != 1.0f) seen_token_ids_.insert(token_id);
  if (params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f) {
    ++output_counts_[token_id];
  }
}

void Sampler::PenaltyTokens(std::vector<int32_t>& token_ids, std::vector<int32_t>& output_counts) const {
  token_ids.clear();
  output_counts.clear();
  for (int32_t id : seen_token_ids_) {
    const auto count = output_counts_.find(id);
    token_ids.push_back(id);
    output_counts.push_back(count == output_counts_.end() ? 0 : count->second);
  }
  for (const auto& [id, count] : output_counts_) {
    if (seen_token_ids_.contains(id)) continue;  // listed above
    token_ids.push_back(id);
    output_counts.push_back(count);
  }
}

std::vector<float> Sampler::PenalizedLogits(std::span<const float> logits,
                                            std::span<const int32_t> banned_token_ids) const {
  CHECK(!logits.empty()) << "Sample: empty logits";
  const int32_t vocab_size = static_cast<int32_t>(logits.size());
  std::vector<float> scores(logits.begin(), logits.end());
  for (int32_t id : banned_token_ids) {
    CHECK(id >= 0 && id < vocab_size) << "banned token id " << id << " outside the vocabulary";
    scores[id] = kNegInf;
  }
  // Ids the model cannot emit (e.g. a prompt token past a padded vocab) are skipped.
  for (int32_t id : seen_token_ids_) {
    if (id >= vocab_size) continue;
    float& score = scores[id];
    score = score > 0 ? score / params_.repetition_penalty : score * params_.repetition_penalty;
  }
  for (const auto& [id, count] : output_counts_) {
    if (id >= vocab_size) continue;
    scores[id] -= params_.presence_penalty + params_.frequency_penalty * count;
  }
  return scores;
}

std::vector<int32_t> Sampler::KeepCandidates(std::vector<float>& scores) const {
  std::vector<int32_t> ids;
  ids.reserve(scores.size());
  for (int32_t id = 0; id < static_cast<int32_t>(scores.size()); ++id) {
    if (scores[id] > kNegInf) ids.push_back(id);  // also drops NaN
  }
  CHECK(!ids.empty()) << "Sample: every token is banned";
  const BestFirst order{scores};

  // Top-k on logits; temperature does not change the order, so it is folded into exp.
  size_t num_sorted = 0;
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < ids.size()) {
    num_sorted = params_.top_k;
    SortPrefix(ids, 0, num_sorted, order);
    ids.resize(num_sorted);
  }
  float max_score = kNegInf;
  for (int32_t id : ids) max_score = std::max(max_score, scores[id]);
  double total = 0;
  for (int32_t id : ids) {
    scores[id] = std::exp((scores[id] - max_score) / params_.temperature);
    total += scores[id];
  }

  // Top-p: sort a prefix that grows 8x at a time, as the nucleus is usually small.
  if (params_.top_p < 1.0f) {
    const double target = params_.top_p * total;
    double cumulative = 0;
    size_t kept = ids.size();
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i == num_sorted) {
        const size_t end = std::min(ids.size(), std::max<size_t>(64, num_sorted * 8));
        SortPrefix(ids, num_sorted, end, order);
        num_sorted = end;
      }
      cumulative += scores[ids[i]];
      if (cumulative >= target) {
        kept = i + 1;
        break;
      }
    }
    ids.resize(kept);
  }

  // Min-p: p >= min_p * p_max is scale-free, and the best weight is exp(0) = 1.
  if (params_.min_p > 0.0f) {
    std::erase_if(ids, [&](int32_t id) { return scores[id] < params_.min_p; });
  }
  return ids;
}

std::vector<float> Sampler::Probabilities(std::span<const float> logits,
                                          std::span<const int32_t> banned_token_ids) const {
  std::vector<float> scores = PenalizedLogits(logits, banned_token_ids);
  std::vector<float> probs(scores.size(), 0.0f);
  if (greedy()) {
    probs[Argmax(scores)] = 1.0f;
    return probs;
  }
  const std::vector<int32_t> ids = KeepCandidates(scores);
  double total = 0;
  for (int32_t id : ids) total += scores[id];
  for (int32_t id : ids) probs[id] = static_cast<float>(scores[id] / total);
  return probs;
}

SampledToken Sampler::Sample(std::span<const float> logits,
                             std::span<const int32_t> banned_token_ids) {
  std::vector<float> scores = PenalizedLogits(logits, banned_token_ids);
  SampledToken result{-1, 0.0f, {}};
  if (greedy()) {
    result.token_id = Argmax(scores);
  } else {
    const std::vector<int32_t> ids = KeepCandidates(scores);
    double total = 0;
    for (int32_t id : ids) total += scores[id];
    const double threshold = UniformDouble(rng_) * total;
    double cumulative = 0;
    // If rounding runs past the end, the last token of nonzero weight is drawn.
    for (int32_t id : ids) {
      if (scores[id] <= 0) continue;  // underflowed to zero: never drawn
      result.token_id = id;
      cumulative += scores[id];
      if (cumulative > threshold) break;
    }
  }

  // Logprobs describe the raw logits (see the file comment).
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float logit : logits) sum += std::exp(logit - max_logit);
  const float log_normalizer = max_logit + static_cast<float>(std::log(sum));
  result.logprob = logits[result.token_id] - log_normalizer;
  if (params_.logprobs > 0) {
    std::vector<int32_t> ids(logits.size());
    std::iota(ids.begin(), ids.end(), 0);
    const size_t num_top = std::min(ids.size(), static_cast<size_t>(params_.logprobs));
    SortPrefix(ids, 0, num_top, BestFirst{logits});
    for (size_t i = 0; i < num_top; ++i) {
      result.top.push_back({ids[i], logits[ids[i]] - log_normalizer});
    }
  }
  return result;
}

}  // namespace glaserve
