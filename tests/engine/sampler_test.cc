#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace glaserve {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::Pointwise;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

SamplingParams Seeded(uint64_t seed) {
  SamplingParams params;
  params.seed = seed;
  return params;
}

// Logits whose softmax is exactly `probs`.
std::vector<float> LogitsOf(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

std::vector<double> Softmax(const std::vector<float>& logits, double temperature = 1.0) {
  const double max = *std::max_element(logits.begin(), logits.end());
  std::vector<double> probs;
  for (float l : logits) probs.push_back(std::exp((l - max) / temperature));
  const double sum = std::accumulate(probs.begin(), probs.end(), 0.0);
  for (double& p : probs) p /= sum;
  return probs;
}

std::vector<float> RandomLogits(int vocab_size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> logits(vocab_size);
  for (float& l : logits) l = normal(rng);
  return logits;
}

// Token id -> number of times drawn in `num_draws` draws.
std::map<int32_t, int> Histogram(Sampler& sampler, const std::vector<float>& logits,
                                 int num_draws, std::vector<int32_t> banned = {}) {
  std::map<int32_t, int> counts;
  for (int i = 0; i < num_draws; ++i) ++counts[sampler.Sample(logits, banned).token_id];
  return counts;
}

std::set<int32_t> Keys(const std::map<int32_t, int>& counts) {
  std::set<int32_t> keys;
  for (const auto& [id, count] : counts) keys.insert(id);
  return keys;
}

// Frequencies must match `probs` within 5 standard deviations (plus a little slack).
void ExpectFrequenciesMatch(const std::map<int32_t, int>& counts,
                            const std::vector<double>& probs, int num_draws) {
  for (size_t id = 0; id < probs.size(); ++id) {
    const auto it = counts.find(static_cast<int32_t>(id));
    const double freq = it == counts.end() ? 0.0 : static_cast<double>(it->second) / num_draws;
    const double tolerance = 5 * std::sqrt(probs[id] * (1 - probs[id]) / num_draws) + 1e-3;
    EXPECT_NEAR(freq, probs[id], tolerance) << "token " << id;
  }
}

TEST(SamplerTest, GreedyIsArgmax) {
  SamplingParams params;
  params.temperature = 0.0f;
  Sampler sampler(params, {});
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const std::vector<float> logits = RandomLogits(1000, seed);
    const int32_t argmax = std::max_element(logits.begin(), logits.end()) - logits.begin();
    EXPECT_EQ(sampler.Sample(logits, {}).token_id, argmax);
  }
}

TEST(SamplerTest, GreedyTiesGoToTheLowestId) {
  SamplingParams params;
  params.temperature = 0.0f;
  Sampler sampler(params, {});
  EXPECT_EQ(sampler.Sample(std::vector<float>{1, 5, 3, 5}, {}).token_id, 1);
}

TEST(SamplerTest, TinyTemperatureIsGreedy) {
  SamplingParams params;
  params.temperature = 1e-6f;
  Sampler sampler(params, {});
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(sampler.Sample(std::vector<float>{1, 1.001f, 1}, {}).token_id, 1);
  }
}

TEST(SamplerTest, SameSeedSameDrawsDifferentSeedsDiffer) {
  const std::vector<float> logits(1000, 0.0f);
  Sampler a(Seeded(7), {}), b(Seeded(7), {}), c(Seeded(8), {});
  std::vector<int32_t> draws_a, draws_b, draws_c;
  for (int i = 0; i < 100; ++i) {
    draws_a.push_back(a.Sample(logits, {}).token_id);
    draws_b.push_back(b.Sample(logits, {}).token_id);
    draws_c.push_back(c.Sample(logits, {}).token_id);
  }
  EXPECT_EQ(draws_a, draws_b);
  EXPECT_NE(draws_a, draws_c);
}

TEST(SamplerTest, UnsetSeedsDiffer) {
  const std::vector<float> logits(1000, 0.0f);
  Sampler a(SamplingParams(), {}), b(SamplingParams(), {});
  std::vector<int32_t> draws_a, draws_b;
  for (int i = 0; i < 100; ++i) {
    draws_a.push_back(a.Sample(logits, {}).token_id);
    draws_b.push_back(b.Sample(logits, {}).token_id);
  }
  EXPECT_NE(draws_a, draws_b);
}

TEST(SamplerTest, TemperatureFrequenciesMatchSoftmax) {
  const std::vector<float> logits = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f};
  SamplingParams params = Seeded(1);
  params.temperature = 0.7f;
  Sampler sampler(params, {});
  const std::vector<double> expected = Softmax(logits, 0.7);
  EXPECT_THAT(sampler.Probabilities(logits, {}),
              Pointwise(FloatNear(1e-6), std::vector<float>(expected.begin(), expected.end())));
  constexpr int kDraws = 20000;
  ExpectFrequenciesMatch(Histogram(sampler, logits, kDraws), expected, kDraws);
}

TEST(SamplerTest, TopKKeepsExactlyTheKBest) {
  const std::vector<float> logits = {0.5f, 3.0f, -1.0f, 2.5f, 0.0f, 2.0f, 1.0f};
  SamplingParams params = Seeded(2);
  params.top_k = 3;
  Sampler sampler(params, {});
  const std::map<int32_t, int> counts = Histogram(sampler, logits, 2000);
  EXPECT_EQ(Keys(counts), (std::set<int32_t>{1, 3, 5}));
  const std::vector<double> kept = Softmax({3.0f, 2.5f, 2.0f});
  EXPECT_THAT(sampler.Probabilities(logits, {}),
              Pointwise(FloatNear(1e-6), std::vector<float>{0, float(kept[0]), 0, float(kept[1]),
                                                            0, float(kept[2]), 0}));
}

TEST(SamplerTest, TopKTiesGoToTheLowestId) {
  SamplingParams params = Seeded(3);
  params.top_k = 2;
  Sampler sampler(params, {});
  EXPECT_THAT(sampler.Probabilities(std::vector<float>{1, 2, 2, 2, 0}, {}),
              Pointwise(FloatNear(1e-6), std::vector<float>{0, 0.5f, 0.5f, 0, 0}));
}

TEST(SamplerTest, TopPKeepsTheSmallestNucleus) {
  // Best first: 2 (0.5), 0 (0.3), 3 (0.15), 1 (0.05); 0.5 < 0.75 <= 0.8.
  const std::vector<float> logits = LogitsOf({0.3, 0.05, 0.5, 0.15});
  SamplingParams params = Seeded(4);
  params.top_p = 0.75f;
  Sampler sampler(params, {});
  EXPECT_EQ(Keys(Histogram(sampler, logits, 2000)), (std::set<int32_t>{0, 2}));
  EXPECT_THAT(sampler.Probabilities(logits, {}),
              Pointwise(FloatNear(1e-6), std::vector<float>{0.375f, 0, 0.625f, 0}));
}

TEST(SamplerTest, TopPAlwaysKeepsOneToken) {
  const std::vector<float> logits = LogitsOf({0.3, 0.05, 0.5, 0.15});
  SamplingParams params = Seeded(5);
  params.top_p = 1e-6f;
  Sampler sampler(params, {});
  EXPECT_EQ(Keys(Histogram(sampler, logits, 500)), (std::set<int32_t>{2}));
}

TEST(SamplerTest, TopPIsOverTheTopKRenormalisedDistribution) {
  // Alone, top_p=0.5 keeps {0, 1} (0.4 < 0.5); after top_k=2, p(0) = 4/7 >= 0.5.
  const std::vector<float> logits = LogitsOf({0.4, 0.3, 0.2, 0.1});
  SamplingParams params = Seeded(6);
  params.top_p = 0.5f;
  Sampler top_p_only(params, {});
  EXPECT_EQ(Keys(Histogram(top_p_only, logits, 2000)), (std::set<int32_t>{0, 1}));
  params.top_k = 2;
  Sampler top_k_then_p(params, {});
  EXPECT_EQ(Keys(Histogram(top_k_then_p, logits, 2000)), (std::set<int32_t>{0}));
}

TEST(SamplerTest, MinPKeepsTokensNearTheBest) {
  // Threshold 0.6 * 0.4 = 0.24 keeps the 0.4 and 0.3 tokens.
  const std::vector<float> logits = LogitsOf({0.1, 0.4, 0.2, 0.3});
  SamplingParams params = Seeded(7);
  params.min_p = 0.6f;
  Sampler sampler(params, {});
  EXPECT_EQ(Keys(Histogram(sampler, logits, 2000)), (std::set<int32_t>{1, 3}));
  EXPECT_THAT(sampler.Probabilities(logits, {}),
              Pointwise(FloatNear(1e-6), std::vector<float>{0, 4.0f / 7, 0, 3.0f / 7}));
}

// On a large vocabulary the nucleus spans many growth steps of the sorted prefix.
TEST(SamplerTest, TopPMatchesAFullSortOnALargeVocabulary) {
  const std::vector<float> logits = RandomLogits(100000, 11);
  SamplingParams params = Seeded(8);
  params.temperature = 0.8f;
  params.top_p = 0.9f;
  const std::vector<float> probs = Sampler(params, {}).Probabilities(logits, {});

  const std::vector<double> full = Softmax(logits, 0.8);
  std::vector<int32_t> order(full.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return full[a] > full[b]; });
  double cumulative = 0;
  size_t nucleus = 0;
  while (cumulative < params.top_p) cumulative += full[order[nucleus++]];
  ASSERT_GT(nucleus, 512u);  // the prefix had to grow at least twice
  for (size_t i = 0; i < order.size(); ++i) {
    const double expected = i < nucleus ? full[order[i]] / cumulative : 0.0;
    ASSERT_NEAR(probs[order[i]], expected, 1e-7) << "rank " << i;
  }
}

TEST(SamplerTest, TopKOnALargeVocabularyStaysInTheTopK) {
  const std::vector<float> logits = RandomLogits(150000, 12);
  std::vector<float> sorted = logits;
  std::sort(sorted.rbegin(), sorted.rend());
  SamplingParams params = Seeded(9);
  params.top_k = 50;
  params.top_p = 0.95f;
  Sampler sampler(params, {});
  for (int i = 0; i < 200; ++i) {
    EXPECT_GE(logits[sampler.Sample(logits, {}).token_id], sorted[49]);
  }
}

TEST(SamplerTest, RepetitionPenaltyFollowsTheHfRuleOncePerToken) {
  SamplingParams params = Seeded(10);
  params.repetition_penalty = 2.0f;
  Sampler sampler(params, std::vector<int32_t>{0, 1});
  sampler.Accept(2);
  sampler.Accept(0);  // also in the prompt: still penalised once
  sampler.Accept(0);
  EXPECT_THAT(sampler.PenalizedLogits(std::vector<float>{2, -1, 3, 4, 0}, {}),
              ElementsAre(1.0f, -2.0f, 1.5f, 4.0f, 0.0f));
}

TEST(SamplerTest, PresenceAndFrequencyPenaliseOutputTokensOnly) {
  SamplingParams params = Seeded(11);
  params.presence_penalty = 0.5f;
  params.frequency_penalty = 0.25f;
  Sampler sampler(params, std::vector<int32_t>{2});
  for (int32_t id : {1, 1, 3}) sampler.Accept(id);
  EXPECT_EQ(sampler.num_output_tokens(), 3);
  EXPECT_THAT(sampler.PenalizedLogits(std::vector<float>{1, 1, 1, 1}, {}),
              ElementsAre(1.0f, 1.0f - 0.5f - 2 * 0.25f, 1.0f, 1.0f - 0.5f - 0.25f));
}

TEST(SamplerTest, RepetitionPenaltyComesBeforePresenceAndFrequency) {
  SamplingParams params = Seeded(12);
  params.repetition_penalty = 4.0f;
  params.presence_penalty = -1.0f;  // negative penalties encourage repeats
  params.frequency_penalty = 0.5f;
  Sampler sampler(params, {});
  sampler.Accept(0);
  sampler.Accept(1);
  sampler.Accept(1);
  // Token 0: 8 / 4 + 1 - 0.5; token 1: -2 * 4 + 1 - 1.
  EXPECT_THAT(sampler.PenalizedLogits(std::vector<float>{8, -2, 3}, {}),
              ElementsAre(2.5f, -8.0f, 3.0f));
}

TEST(SamplerTest, PenaltiesChangeTheDrawnDistribution) {
  SamplingParams params = Seeded(13);
  params.presence_penalty = 2.0f;
  Sampler sampler(params, {});
  sampler.Accept(0);
  const std::vector<float> logits = {0, 0};
  const double p0 = 1 / (1 + std::exp(2.0));
  EXPECT_THAT(sampler.Probabilities(logits, {}),
              ElementsAre(FloatNear(p0, 1e-6), FloatNear(1 - p0, 1e-6)));
  constexpr int kDraws = 20000;
  ExpectFrequenciesMatch(Histogram(sampler, logits, kDraws), {p0, 1 - p0}, kDraws);
}

TEST(SamplerTest, BannedTokensAreNeverDrawn) {
  const std::vector<float> logits = {0, 10, 0, 10, 0};
  const std::vector<int32_t> banned = {1, 3};
  Sampler sampler(Seeded(14), {});
  EXPECT_THAT(sampler.PenalizedLogits(logits, banned), ElementsAre(0, kNegInf, 0, kNegInf, 0));
  EXPECT_EQ(Keys(Histogram(sampler, logits, 2000, banned)), (std::set<int32_t>{0, 2, 4}));

  SamplingParams greedy;
  greedy.temperature = 0;
  EXPECT_EQ(Sampler(greedy, {}).Sample(logits, banned).token_id, 0);
}

TEST(SamplerDeathTest, EverythingBannedIsABug) {
  const std::vector<float> logits = {1, 2};
  EXPECT_DEATH(Sampler(Seeded(15), {}).Sample(logits, std::vector<int32_t>{0, 1}),
               "every token is banned");
}

TEST(SamplerTest, LogprobsAreLogSoftmaxOfTheRawLogits) {
  const std::vector<float> logits = RandomLogits(500, 16);
  SamplingParams params = Seeded(17);
  params.temperature = 0.5f;  // none of these may change the reported logprobs
  params.repetition_penalty = 1.5f;
  params.presence_penalty = 1.0f;
  params.logprobs = 5;
  Sampler sampler(params, std::vector<int32_t>{3, 4});
  sampler.Accept(7);

  const std::vector<double> raw = Softmax(logits);
  std::vector<int32_t> order(raw.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return raw[a] > raw[b]; });
  for (int i = 0; i < 50; ++i) {
    const SampledToken token = sampler.Sample(logits, {});
    EXPECT_NEAR(token.logprob, std::log(raw[token.token_id]), 1e-4);
    ASSERT_EQ(token.top.size(), 5u);
    for (size_t j = 0; j < token.top.size(); ++j) {
      EXPECT_EQ(token.top[j].token_id, order[j]);
      EXPECT_NEAR(token.top[j].logprob, std::log(raw[order[j]]), 1e-4);
    }
  }
}

TEST(SamplerTest, NoTopLogprobsUnlessAsked) {
  Sampler sampler(Seeded(18), {});
  const SampledToken token = sampler.Sample(std::vector<float>{0, 0}, {});
  EXPECT_TRUE(token.top.empty());
  EXPECT_NEAR(token.logprob, std::log(0.5), 1e-6);
}

}  // namespace
}  // namespace glaserve
