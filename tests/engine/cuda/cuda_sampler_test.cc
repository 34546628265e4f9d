// The CUDA sampler (kernels/cuda/sampling.h) against the CPU sampler (engine/sampler.h):
// the distribution drawn from vs Sampler::Probabilities over many parameter combinations in
// one batch, greedy argmax with ties, raw logprobs and top logprobs, reproducible draws,
// and draw frequencies against the probabilities. Skips where there is no GPU.
//
// Tolerances: both sides compute each weight as exp((score - max) / T) in fp32 (CUDA's expf
// is within 2 ulp) and normalise in double, so probabilities agree to ~1e-6 relative; the
// kept sets must agree exactly (a wrong top-k/top-p/min-p boundary shows as a whole token).
#include "kernels/cuda/sampling.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "engine/sampler.h"
#include "engine/sampling_params.h"
#include "gtest/gtest.h"
#include "tests/kernels/cuda/device_buffer.h"

namespace glaserve {
namespace {

using kernels::cuda::LaunchSampling;
using kernels::cuda::SamplingArgs;
using kernels::cuda::SamplingRow;
using kernels::cuda::testing::DeviceBuffer;
using kernels::cuda::testing::HasGpu;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// One sequence: its knobs, its history (for the penalties) and its bans.
struct RowSpec {
  std::string name;
  SamplingParams params;
  std::vector<int32_t> prompt;
  std::vector<int32_t> outputs;  // accepted tokens, in order
  std::vector<int32_t> banned;
  uint64_t offset = 0;
};

struct GpuResult {
  std::vector<int32_t> token_ids;
  std::vector<float> logprobs;
  std::vector<int32_t> top_token_ids;
  std::vector<float> top_logprobs;
  std::vector<float> probabilities;  // [rows, vocab] when asked for
};

// The CPU sampler of a row, with its history accepted.
Sampler CpuSampler(const RowSpec& spec) {
  Sampler sampler(spec.params, spec.prompt);
  for (int32_t id : spec.outputs) sampler.Accept(id);
  return sampler;
}

// Runs the GPU sampler on rows of `logits` ([rows, stride], vocab used per row).
GpuResult RunGpu(const std::vector<RowSpec>& specs, const std::vector<float>& logits, int32_t vocab, int64_t stride,
                 int32_t num_top_logprobs, bool want_probabilities) {
  std::vector<SamplingRow> rows;
  std::vector<int32_t> penalty_ids, penalty_counts, banned;
  for (const RowSpec& spec : specs) {
    SamplingRow row;
    row.temperature = spec.params.temperature;
    row.top_k = spec.params.top_k;
    row.top_p = spec.params.top_p;
    row.min_p = spec.params.min_p;
    row.repetition_penalty = spec.params.repetition_penalty;
    row.presence_penalty = spec.params.presence_penalty;
    row.frequency_penalty = spec.params.frequency_penalty;
    row.seed = spec.params.seed.value_or(0);
    row.offset = spec.offset;
    // Every distinct token of prompt and output, with its output count.
    std::map<int32_t, int32_t> seen;
    for (int32_t id : spec.prompt) seen.emplace(id, 0);
    for (int32_t id : spec.outputs) ++seen[id];
    row.penalty_begin = static_cast<int32_t>(penalty_ids.size());
    for (const auto& [id, count] : seen) {
      penalty_ids.push_back(id);
      penalty_counts.push_back(count);
    }
    row.penalty_end = static_cast<int32_t>(penalty_ids.size());
    row.banned_begin = static_cast<int32_t>(banned.size());
    banned.insert(banned.end(), spec.banned.begin(), spec.banned.end());
    row.banned_end = static_cast<int32_t>(banned.size());
    rows.push_back(row);
  }
  const int32_t num_rows = static_cast<int32_t>(specs.size());
  DeviceBuffer<float> d_logits(logits);
  DeviceBuffer<SamplingRow> d_rows(rows);
  DeviceBuffer<int32_t> d_penalty_ids(penalty_ids), d_penalty_counts(penalty_counts), d_banned(banned);
  // Outputs poisoned, so an unwritten one shows.
  DeviceBuffer<int32_t> d_tokens(std::vector<int32_t>(num_rows, -7));
  DeviceBuffer<float> d_logprobs(std::vector<float>(num_rows, std::nanf("")));
  DeviceBuffer<int32_t> d_top_ids(std::vector<int32_t>(num_rows * num_top_logprobs, -7));
  DeviceBuffer<float> d_top_logprobs(std::vector<float>(num_rows * num_top_logprobs, std::nanf("")));
  DeviceBuffer<float> d_probabilities(
      std::vector<float>(want_probabilities ? static_cast<size_t>(num_rows) * vocab : 0, std::nanf("")));

  SamplingArgs args;
  args.num_rows = num_rows;
  args.vocab_size = vocab;
  args.logits = d_logits.data();
  args.logits_stride = stride;
  args.rows = d_rows.data();
  args.penalty_token_ids = d_penalty_ids.data();
  args.penalty_output_counts = d_penalty_counts.data();
  args.banned_token_ids = d_banned.data();
  args.num_top_logprobs = num_top_logprobs;
  args.token_ids = d_tokens.data();
  args.logprobs = d_logprobs.data();
  args.top_token_ids = d_top_ids.data();
  args.top_logprobs = d_top_logprobs.data();
  args.probabilities = want_probabilities ? d_probabilities.data() : nullptr;
  EXPECT_EQ(kernels::cuda::SamplingWorkspaceBytes(num_rows, vocab), 0u);
  EXPECT_EQ(LaunchSampling(args, nullptr), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);

  GpuResult result;
  result.token_ids = d_tokens.ToHost();
  result.logprobs = d_logprobs.ToHost();
  result.top_token_ids = d_top_ids.ToHost();
  result.top_logprobs = d_top_logprobs.ToHost();
  result.probabilities = d_probabilities.ToHost();
  return result;
}

std::vector<float> RandomLogits(int64_t count, float stddev, std::mt19937_64& rng) {
  std::normal_distribution<float> normal(0.0f, stddev);
  std::vector<float> logits(count);
  for (float& l : logits) l = normal(rng);
  return logits;
}

// Raw log-softmax in double: what reported logprobs must be.
std::vector<double> LogSoftmax(const float* logits, int32_t vocab) {
  const double max = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int32_t i = 0; i < vocab; ++i) sum += std::exp(logits[i] - max);
  std::vector<double> out(vocab);
  for (int32_t i = 0; i < vocab; ++i) out[i] = logits[i] - max - std::log(sum);
  return out;
}

// The parameter combinations every comparison runs over.
std::vector<RowSpec> ParameterCombinations(int32_t vocab) {
  std::vector<RowSpec> specs;
  auto add = [&](std::string name, auto configure) {
    RowSpec spec;
    spec.name = std::move(name);
    spec.params.seed = 1234 + specs.size();
    spec.offset = specs.size() * 7;
    configure(spec);
    specs.push_back(std::move(spec));
  };
  auto history = [vocab](RowSpec& s) {
    s.prompt = {3, 17, 17, 42, vocab - 1, vocab + 5 /* outside the vocab: ignored */};
    s.outputs = {42, 7, 7, 7, 100 % vocab, 3};
  };
  add("greedy", [](RowSpec& s) { s.params.temperature = 0; });
  add("greedy_just_below_cutoff", [](RowSpec& s) { s.params.temperature = 9e-6f; });
  add("temperature_1", [](RowSpec&) {});
  add("temperature_0.7", [](RowSpec& s) { s.params.temperature = 0.7f; });
  add("temperature_2", [](RowSpec& s) { s.params.temperature = 2.0f; });
  add("temperature_at_cutoff", [](RowSpec& s) { s.params.temperature = 1e-5f; });
  add("temperature_0.05", [](RowSpec& s) { s.params.temperature = 0.05f; });
  add("top_k_1", [](RowSpec& s) { s.params.top_k = 1; });
  add("top_k_5", [](RowSpec& s) { s.params.top_k = 5; });
  add("top_k_50_t0.8", [](RowSpec& s) { s.params.top_k = 50; s.params.temperature = 0.8f; });
  add("top_k_vocab", [vocab](RowSpec& s) { s.params.top_k = vocab; });
  add("top_k_past_unbanned", [vocab](RowSpec& s) {
    s.params.top_k = vocab - 2;
    s.banned = {0, 1, 2, 5};
  });
  add("top_p_0.9", [](RowSpec& s) { s.params.top_p = 0.9f; });
  add("top_p_0.5_t1.5", [](RowSpec& s) { s.params.top_p = 0.5f; s.params.temperature = 1.5f; });
  add("top_p_tiny", [](RowSpec& s) { s.params.top_p = 1e-6f; });
  add("top_p_0.999", [](RowSpec& s) { s.params.top_p = 0.999f; });
  add("min_p_0.1", [](RowSpec& s) { s.params.min_p = 0.1f; });
  add("min_p_1", [](RowSpec& s) { s.params.min_p = 1.0f; });
  add("top_k_top_p_min_p", [](RowSpec& s) {
    s.params.top_k = 40;
    s.params.top_p = 0.9f;
    s.params.min_p = 0.05f;
    s.params.temperature = 0.8f;
  });
  add("top_k_then_top_p_small", [](RowSpec& s) { s.params.top_k = 3; s.params.top_p = 0.6f; });
  add("repetition_1.3", [&](RowSpec& s) { history(s); s.params.repetition_penalty = 1.3f; });
  add("repetition_0.7", [&](RowSpec& s) { history(s); s.params.repetition_penalty = 0.7f; });
  add("presence_frequency", [&](RowSpec& s) {
    history(s);
    s.params.presence_penalty = 0.5f;
    s.params.frequency_penalty = 0.3f;
  });
  add("negative_presence_frequency", [&](RowSpec& s) {
    history(s);
    s.params.presence_penalty = -1.5f;
    s.params.frequency_penalty = -0.7f;
    s.params.top_k = 10;
  });
  add("banned", [](RowSpec& s) { s.banned = {0, 2, 4, 6, 8, 2}; });
  add("all_penalties_banned_overlap", [&](RowSpec& s) {
    history(s);
    s.params.repetition_penalty = 1.2f;
    s.params.presence_penalty = 0.4f;
    s.params.frequency_penalty = 0.2f;
    s.banned = {7, 42, 9};  // 7 and 42 are also penalised: the ban wins
    s.params.top_k = 20;
    s.params.top_p = 0.8f;
    s.params.min_p = 0.02f;
  });
  add("greedy_penalised", [&](RowSpec& s) {
    history(s);
    s.params.temperature = 0;
    s.params.repetition_penalty = 2.0f;
    s.params.frequency_penalty = 1.0f;
    s.banned = {11};
  });
  add("penalties_only_prompt", [&](RowSpec& s) {
    s.prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
    s.params.repetition_penalty = 1.5f;
    s.params.top_p = 0.95f;
  });
  return specs;
}

class CudaSamplerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HasGpu()) GTEST_SKIP() << "no CUDA GPU on this machine";
  }

  // Every row of `specs` on its own random logits: probabilities vs the CPU sampler, the
  // chosen token inside the support, logprobs vs a double log-softmax of the raw logits.
  void CompareWithCpu(const std::vector<RowSpec>& specs, int32_t vocab, int64_t stride, float stddev,
                      bool quantize, uint64_t seed) {
    const int32_t num_top = 5;
    std::mt19937_64 rng(seed);
    std::vector<float> logits = RandomLogits(specs.size() * stride, stddev, rng);
    // Coarse values make many exact ties, which top-k and top-p break by id.
    if (quantize) {
      for (float& l : logits) l = std::round(l * 2) / 2;
    }
    // Padding between rows is NaN: a kernel reading past a row would notice.
    for (size_t r = 0; r < specs.size(); ++r) {
      for (int64_t i = vocab; i < stride; ++i) logits[r * stride + i] = std::nanf("");
    }
    const GpuResult gpu = RunGpu(specs, logits, vocab, stride, num_top, /*want_probabilities=*/true);

    for (size_t r = 0; r < specs.size(); ++r) {
      SCOPED_TRACE("row " + std::to_string(r) + " (" + specs[r].name + ")");
      const std::span<const float> row(logits.data() + r * stride, vocab);
      Sampler sampler = CpuSampler(specs[r]);
      const std::vector<float> want = sampler.Probabilities(row, specs[r].banned);
      const std::vector<float> got(gpu.probabilities.begin() + r * vocab, gpu.probabilities.begin() + (r + 1) * vocab);
      kernels::cuda::testing::ExpectAllClose(got, want, 1e-7f, 1e-4f, "probabilities");
      int support_mismatches = 0;
      for (int32_t i = 0; i < vocab; ++i) support_mismatches += (got[i] > 0) != (want[i] > 0);
      EXPECT_EQ(support_mismatches, 0) << "kept sets differ";

      const int32_t token = gpu.token_ids[r];
      ASSERT_GE(token, 0);
      ASSERT_LT(token, vocab);
      EXPECT_GT(want[token], 0.0f) << "drew token " << token << " of zero probability";
      if (specs[r].params.temperature < 1e-5f) {
        // Greedy: the CPU sampler's own choice, deterministic.
        EXPECT_EQ(token, sampler.Sample(row, specs[r].banned).token_id);
      }

      const std::vector<double> log_softmax = LogSoftmax(row.data(), vocab);
      EXPECT_NEAR(gpu.logprobs[r], log_softmax[token], 1e-4);
      std::vector<int32_t> order(vocab);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return row[a] > row[b]; });
      for (int k = 0; k < num_top; ++k) {
        EXPECT_EQ(gpu.top_token_ids[r * num_top + k], order[k]) << "top " << k;
        EXPECT_NEAR(gpu.top_logprobs[r * num_top + k], log_softmax[order[k]], 1e-4) << "top " << k;
      }
    }
  }
};

TEST_F(CudaSamplerTest, ProbabilitiesMatchCpuSmallVocab) {
  CompareWithCpu(ParameterCombinations(1000), 1000, 1000, 2.0f, /*quantize=*/false, 1);
}

TEST_F(CudaSamplerTest, ProbabilitiesMatchCpuWithTies) {
  CompareWithCpu(ParameterCombinations(997), 997, 1003, 2.0f, /*quantize=*/true, 2);
}

TEST_F(CudaSamplerTest, ProbabilitiesMatchCpuWithThousandsOfTies) {
  // Tie groups of thousands: the boundary bins are too full to list (the radix fallback).
  CompareWithCpu(ParameterCombinations(32000), 32000, 32000, 2.0f, /*quantize=*/true, 10);
}

TEST_F(CudaSamplerTest, ProbabilitiesMatchCpuLlamaVocab) {
  CompareWithCpu(ParameterCombinations(32000), 32000, 32000, 3.0f, /*quantize=*/false, 3);
}

TEST_F(CudaSamplerTest, ProbabilitiesMatchCpuPeakedLogits) {
  // A few dominant logits: small nuclei, many weights near zero.
  CompareWithCpu(ParameterCombinations(32003), 32003, 32005, 8.0f, /*quantize=*/false, 4);
}

TEST_F(CudaSamplerTest, ProbabilitiesMatchCpuHugeVocabUnalignedRows) {
  // Past 90K ids the bitmaps need more than 48 KB of shared memory; odd strides misalign rows.
  std::vector<RowSpec> all = ParameterCombinations(200003), specs;
  for (const RowSpec& spec : all) {
    if (spec.name == "temperature_1" || spec.name == "top_k_top_p_min_p" || spec.name == "greedy_penalised" ||
        spec.name == "all_penalties_banned_overlap" || spec.name == "top_p_0.9") {
      specs.push_back(spec);
    }
  }
  CompareWithCpu(specs, 200003, 200007, 2.5f, /*quantize=*/false, 5);
}

TEST_F(CudaSamplerTest, GreedyIsArgmaxWithTiesToLowestId) {
  const int32_t vocab = 5000;
  std::mt19937_64 rng(6);
  std::vector<float> logits = RandomLogits(3 * vocab, 1.0f, rng);
  // Row 0: a three-way tie at the top; row 1: the same, the lowest one banned; row 2: all
  // tied (a constant row).
  for (int r = 0; r < 2; ++r) {
    for (int32_t id : {4000, 1234, 2500}) logits[r * vocab + id] = 10.0f;
  }
  std::fill(logits.begin() + 2 * vocab, logits.end(), -3.0f);
  std::vector<RowSpec> specs(3);
  for (RowSpec& spec : specs) spec.params.temperature = 0;
  specs[1].banned = {1234};
  const GpuResult gpu = RunGpu(specs, logits, vocab, vocab, 0, false);
  EXPECT_EQ(gpu.token_ids[0], 1234);
  EXPECT_EQ(gpu.token_ids[1], 2500);
  EXPECT_EQ(gpu.token_ids[2], 0);
  EXPECT_NEAR(gpu.logprobs[2], -std::log(double(vocab)), 1e-5);
}

TEST_F(CudaSamplerTest, EveryIdBannedGivesMinusOne) {
  const int32_t vocab = 8;
  const std::vector<float> logits = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<RowSpec> specs(2);
  specs[0].params.temperature = 0;
  for (RowSpec& spec : specs) spec.banned = {0, 1, 2, 3, 4, 5, 6, 7};
  const GpuResult gpu = RunGpu(specs, logits, vocab, vocab, 0, false);
  EXPECT_EQ(gpu.token_ids[0], -1);
  EXPECT_EQ(gpu.token_ids[1], -1);
  EXPECT_EQ(gpu.logprobs[1], kNegInf);
}

TEST_F(CudaSamplerTest, TopLogprobsPastTheVocabArePadded) {
  const int32_t vocab = 3;
  const std::vector<float> logits = {0.5f, 2.0f, 0.5f};
  std::vector<RowSpec> specs(1);
  const GpuResult gpu = RunGpu(specs, logits, vocab, vocab, 5, false);
  const std::vector<double> want = LogSoftmax(logits.data(), vocab);
  EXPECT_EQ(gpu.top_token_ids, (std::vector<int32_t>{1, 0, 2, -1, -1}));
  EXPECT_NEAR(gpu.top_logprobs[0], want[1], 1e-6);
  EXPECT_NEAR(gpu.top_logprobs[1], want[0], 1e-6);
  EXPECT_NEAR(gpu.top_logprobs[2], want[2], 1e-6);
  EXPECT_EQ(gpu.top_logprobs[3], kNegInf);
}

TEST_F(CudaSamplerTest, SameSeedAndOffsetGiveTheSameDraw) {
  const int32_t vocab = 1000, num_rows = 256;
  std::mt19937_64 rng(7);
  const std::vector<float> row = RandomLogits(vocab, 1.0f, rng);
  std::vector<float> logits;
  std::vector<RowSpec> specs(num_rows);
  for (int r = 0; r < num_rows; ++r) {
    logits.insert(logits.end(), row.begin(), row.end());
    specs[r].params.seed = 42;
    specs[r].params.top_p = 0.95f;
    specs[r].offset = r;
  }
  const GpuResult first = RunGpu(specs, logits, vocab, vocab, 0, false);
  const GpuResult second = RunGpu(specs, logits, vocab, vocab, 0, false);
  EXPECT_EQ(first.token_ids, second.token_ids);
  // Different offsets (and seeds) draw differently: a near-flat distribution over 1000 ids.
  EXPECT_GT(std::set<int32_t>(first.token_ids.begin(), first.token_ids.end()).size(), 100u);
  for (RowSpec& spec : specs) spec.params.seed = 43;
  const GpuResult other_seed = RunGpu(specs, logits, vocab, vocab, 0, false);
  int same = 0;
  for (int r = 0; r < num_rows; ++r) same += first.token_ids[r] == other_seed.token_ids[r];
  EXPECT_LT(same, num_rows / 10);
}

// Draws over many offsets against the probabilities, by a chi-square statistic: with d
// degrees of freedom it has mean d and deviation sqrt(2d); the bound is 6 deviations over.
void ExpectFrequenciesMatch(const RowSpec& base, const std::vector<float>& row, int num_draws) {
  const int32_t vocab = static_cast<int32_t>(row.size());
  std::vector<float> logits;
  std::vector<RowSpec> specs(num_draws, base);
  for (int r = 0; r < num_draws; ++r) {
    logits.insert(logits.end(), row.begin(), row.end());
    specs[r].offset = 1000 + r;
  }
  const GpuResult gpu = RunGpu(specs, logits, vocab, vocab, 0, false);
  const std::vector<float> probabilities = CpuSampler(base).Probabilities(row, base.banned);
  std::vector<int> counts(vocab, 0);
  for (int32_t token : gpu.token_ids) {
    ASSERT_TRUE(token >= 0 && token < vocab) << token;
    ASSERT_GT(probabilities[token], 0.0f) << "drew token " << token << " of zero probability";
    ++counts[token];
  }
  double chi_square = 0;
  int bins = 0;
  for (int32_t i = 0; i < vocab; ++i) {
    const double expected = probabilities[i] * num_draws;
    if (expected == 0) continue;
    chi_square += (counts[i] - expected) * (counts[i] - expected) / expected;
    ++bins;
  }
  const double dof = bins - 1;
  EXPECT_LT(chi_square, dof + 6 * std::sqrt(2 * dof) + 10) << "over " << bins << " tokens";
}

TEST_F(CudaSamplerTest, DrawFrequenciesMatchProbabilities) {
  std::mt19937_64 rng(8);
  const std::vector<float> row = RandomLogits(64, 1.5f, rng);
  RowSpec plain;
  plain.params.seed = 99;
  ExpectFrequenciesMatch(plain, row, 50000);

  RowSpec filtered;
  filtered.params.seed = 7;
  filtered.params.temperature = 0.9f;
  filtered.params.top_k = 30;
  filtered.params.top_p = 0.9f;
  filtered.params.repetition_penalty = 1.3f;
  filtered.prompt = {1, 2, 3, 5, 8, 13, 21, 34};
  filtered.outputs = {8, 8, 40};
  filtered.params.frequency_penalty = 0.2f;
  filtered.banned = {0};
  ExpectFrequenciesMatch(filtered, row, 50000);
}

// Not a check: times batch-512 decode sampling. Run with --gtest_also_run_disabled_tests.
TEST_F(CudaSamplerTest, DISABLED_Benchmark) {
  struct Config {
    const char* name;
    int32_t num_rows, vocab, num_top;
    SamplingParams params;
    int num_penalty_ids;
  };
  SamplingParams greedy;
  greedy.temperature = 0;
  SamplingParams plain;
  SamplingParams top_k;
  top_k.top_k = 50;
  top_k.temperature = 0.8f;
  SamplingParams top_p;
  top_p.top_p = 0.9f;
  SamplingParams combined = top_k;
  combined.top_p = 0.9f;
  combined.min_p = 0.05f;
  SamplingParams penalised = top_p;
  penalised.repetition_penalty = 1.1f;
  penalised.presence_penalty = 0.2f;
  const std::vector<Config> configs = {
      {"greedy", 512, 32000, 0, greedy, 0},
      {"greedy+5 logprobs", 512, 32000, 5, greedy, 0},
      {"temperature 1", 512, 32000, 0, plain, 0},
      {"top_k 50", 512, 32000, 0, top_k, 0},
      {"top_p 0.9", 512, 32000, 0, top_p, 0},
      {"top_k+top_p+min_p", 512, 32000, 0, combined, 0},
      {"top_p+penalties (500 ids)", 512, 32000, 0, penalised, 500},
      {"greedy B64 V256K", 64, 256000, 0, greedy, 0},
      {"top_p B64 V256K", 64, 256000, 0, top_p, 0},
  };
  std::mt19937_64 rng(9);
  printf("%-28s %10s %10s\n", "config", "median us", "GB/s");
  for (const Config& c : configs) {
    const std::vector<float> logits = RandomLogits(static_cast<int64_t>(c.num_rows) * c.vocab, 3.0f, rng);
    std::vector<SamplingRow> rows(c.num_rows);
    std::vector<int32_t> penalty_ids, penalty_counts;
    for (int r = 0; r < c.num_rows; ++r) {
      SamplingRow& row = rows[r];
      row.temperature = c.params.temperature;
      row.top_k = c.params.top_k;
      row.top_p = c.params.top_p;
      row.min_p = c.params.min_p;
      row.repetition_penalty = c.params.repetition_penalty;
      row.presence_penalty = c.params.presence_penalty;
      row.seed = r;
      row.penalty_begin = static_cast<int32_t>(penalty_ids.size());
      for (int i = 0; i < c.num_penalty_ids; ++i) {
        penalty_ids.push_back((i * 61 + r) % c.vocab);
        penalty_counts.push_back(i % 3);
      }
      row.penalty_end = static_cast<int32_t>(penalty_ids.size());
    }
    DeviceBuffer<float> d_logits(logits);
    DeviceBuffer<SamplingRow> d_rows(rows);
    DeviceBuffer<int32_t> d_penalty_ids(penalty_ids), d_penalty_counts(penalty_counts);
    DeviceBuffer<int32_t> d_tokens(std::vector<int32_t>(c.num_rows)), d_top_ids(std::vector<int32_t>(c.num_rows * 20));
    DeviceBuffer<float> d_logprobs(std::vector<float>(c.num_rows)), d_top(std::vector<float>(c.num_rows * 20));
    SamplingArgs args;
    args.num_rows = c.num_rows;
    args.vocab_size = c.vocab;
    args.logits = d_logits.data();
    args.logits_stride = c.vocab;
    args.rows = d_rows.data();
    args.penalty_token_ids = d_penalty_ids.data();
    args.penalty_output_counts = d_penalty_counts.data();
    args.num_top_logprobs = c.num_top;
    args.token_ids = d_tokens.data();
    args.logprobs = d_logprobs.data();
    args.top_token_ids = d_top_ids.data();
    args.top_logprobs = d_top.data();
    cudaEvent_t start, stop;
    ASSERT_EQ(cudaEventCreate(&start), cudaSuccess);
    ASSERT_EQ(cudaEventCreate(&stop), cudaSuccess);
    std::vector<float> times;
    for (int i = 0; i < 25; ++i) {
      ASSERT_EQ(cudaEventRecord(start), cudaSuccess);
      ASSERT_EQ(LaunchSampling(args, nullptr), cudaSuccess);
      ASSERT_EQ(cudaEventRecord(stop), cudaSuccess);
      ASSERT_EQ(cudaEventSynchronize(stop), cudaSuccess);
      float ms = 0;
      cudaEventElapsedTime(&ms, start, stop);
      if (i >= 5) times.push_back(ms * 1000);
    }
    std::sort(times.begin(), times.end());
    const double median_us = times[times.size() / 2];
    printf("%-28s %10.1f %10.0f\n", c.name, median_us, 4.0 * c.num_rows * c.vocab / (median_us * 1e3));
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
}

}  // namespace
}  // namespace glaserve
