// Workload generators: seeded reproducibility, length distributions, shared prefixes,
// and open-loop arrival times (mean and burstiness of the gaps).
#include "loadtest/workload.h"

#include <cmath>
#include <set>

#include "gtest/gtest.h"
#include "loadtest/arrival_process.h"
#include "loadtest/length_distribution.h"
#include "tests/testing/test_checkpoint.h"

namespace glaserve::loadtest {
namespace {

WorkloadOptions Options(uint64_t seed, int32_t shared_prefix = 0) {
  WorkloadOptions options;
  options.prompt_lengths = *LengthDistribution::Uniform(100, 0.5);
  options.output_lengths = *LengthDistribution::Uniform(20, 0.25);
  options.shared_prefix_tokens = shared_prefix;
  options.seed = seed;
  return options;
}

TEST(WorkloadTest, SameSeedSameRequests) {
  const Workload a(Options(7), 512, {1, 2});
  const Workload b(Options(7), 512, {1, 2});
  for (int64_t i : {0, 1, 5, 1000}) {
    const RequestSpec x = a.Spec(i), y = b.Spec(i);
    EXPECT_EQ(x.prompt_tokens, y.prompt_tokens);
    EXPECT_EQ(x.max_tokens, y.max_tokens);
    EXPECT_EQ(x.sampling_seed, y.sampling_seed);
    EXPECT_EQ(a.PromptTokenIds(x), b.PromptTokenIds(y));
  }
}

TEST(WorkloadTest, DifferentSeedsDifferentRequests) {
  const Workload a(Options(7), 512, {});
  const Workload b(Options(8), 512, {});
  int num_same = 0;
  for (int64_t i = 0; i < 20; ++i) num_same += a.PromptTokenIds(a.Spec(i)) == b.PromptTokenIds(b.Spec(i));
  EXPECT_EQ(num_same, 0);
}

TEST(WorkloadTest, LengthsAndIdsInRange) {
  const Workload workload(Options(3), 64, {1, 2});
  std::set<int32_t> prompt_lengths, ids_seen;
  for (int64_t i = 0; i < 500; ++i) {
    const RequestSpec spec = workload.Spec(i);
    EXPECT_GE(spec.prompt_tokens, 50);
    EXPECT_LE(spec.prompt_tokens, 150);
    EXPECT_GE(spec.max_tokens, 15);
    EXPECT_LE(spec.max_tokens, 25);
    prompt_lengths.insert(spec.prompt_tokens);
    const std::vector<int32_t> ids = workload.PromptTokenIds(spec);
    ASSERT_EQ(static_cast<int32_t>(ids.size()), spec.prompt_tokens);
    ids_seen.insert(ids.begin(), ids.end());
  }
  // Every id but the avoided BOS and EOS shows up, and nothing outside the vocabulary.
  EXPECT_EQ(ids_seen.size(), 62u);
  EXPECT_EQ(ids_seen.count(1), 0u);
  EXPECT_EQ(ids_seen.count(2), 0u);
  EXPECT_EQ(*ids_seen.begin(), 0);
  EXPECT_EQ(*ids_seen.rbegin(), 63);
  EXPECT_GT(prompt_lengths.size(), 50u);  // really spread
}

TEST(WorkloadTest, SharedPrefixIsTheSameEverywhere) {
  WorkloadOptions options = Options(11, 60);
  options.prompt_lengths = *LengthDistribution::Uniform(80, 0.5);  // [40, 120]
  const Workload workload(options, 512, {});
  const std::vector<int32_t> first = workload.PromptTokenIds(workload.Spec(0));
  int num_lengthened = 0, num_different_suffixes = 0;
  for (int64_t i = 1; i < 100; ++i) {
    const RequestSpec spec = workload.Spec(i);
    EXPECT_GE(spec.prompt_tokens, 60);  // lengthened to the prefix when drawn shorter
    num_lengthened += spec.prompt_tokens == 60;
    const std::vector<int32_t> ids = workload.PromptTokenIds(spec);
    EXPECT_TRUE(std::equal(first.begin(), first.begin() + 60, ids.begin()));
    if (ids.size() > 60 && first.size() > 60) num_different_suffixes += ids[60] != first[60];
  }
  EXPECT_GT(num_lengthened, 5);
  EXPECT_GT(num_different_suffixes, 50);
}

TEST(LengthDistributionTest, FixedUniformAndList) {
  Random random(1);
  const LengthDistribution fixed = LengthDistribution::Fixed(42);
  EXPECT_EQ(fixed.Sample(random), 42);
  EXPECT_EQ(fixed.Describe(), "42");

  const LengthDistribution uniform = *LengthDistribution::Uniform(1000, 0.1);
  EXPECT_EQ(uniform.min(), 900);
  EXPECT_EQ(uniform.max(), 1100);
  double sum = 0;
  for (int i = 0; i < 10000; ++i) sum += uniform.Sample(random);
  EXPECT_NEAR(sum / 10000, 1000, 5);
  EXPECT_EQ(uniform.Describe(), "uniform[900, 1100]");

  const LengthDistribution list = *LengthDistribution::FromList({8, 8192, 131072});
  std::map<int32_t, int> counts;
  for (int i = 0; i < 3000; ++i) ++counts[list.Sample(random)];
  EXPECT_EQ(counts.size(), 3u);
  for (const auto& [length, count] : counts) EXPECT_NEAR(count, 1000, 150) << length;

  EXPECT_FALSE(LengthDistribution::Uniform(0, 0).ok());
  EXPECT_FALSE(LengthDistribution::Uniform(10, 1.0).ok());
  EXPECT_FALSE(LengthDistribution::FromList({}).ok());
  EXPECT_FALSE(LengthDistribution::FromList({5, 0}).ok());
}

TEST(LengthDistributionTest, FromFile) {
  const std::filesystem::path dir = testing::MakeTempDir("lengths");
  testing::WriteFile(dir / "good.txt", "# prompt lengths\n100\n\n  200 \n300\n");
  absl::StatusOr<LengthDistribution> d = LengthDistribution::FromFile((dir / "good.txt").string());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->min(), 100);
  EXPECT_EQ(d->max(), 300);
  EXPECT_DOUBLE_EQ(d->mean(), 200);
  testing::WriteFile(dir / "bad.txt", "100\nlots\n");
  absl::StatusOr<LengthDistribution> bad = LengthDistribution::FromFile((dir / "bad.txt").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.txt:2"), absl::string_view::npos) << bad.status();
  EXPECT_EQ(LengthDistribution::FromFile((dir / "missing.txt").string()).status().code(), absl::StatusCode::kNotFound);
}

// Mean and coefficient of variation of n gaps.
std::pair<double, double> GapStats(ArrivalProcess& arrivals, int n) {
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const double gap = arrivals.NextGapSeconds();
    EXPECT_GT(gap, 0);
    sum += gap;
    sum_sq += gap * gap;
  }
  const double mean = sum / n;
  return {mean, std::sqrt(sum_sq / n - mean * mean) / mean};
}

TEST(ArrivalProcessTest, PoissonGapsHaveMeanOneOverRate) {
  // 20000 exponential gaps: the mean's standard error is 0.7%.
  ArrivalProcess arrivals(/*rate=*/8, /*burstiness=*/1, /*seed=*/5);
  const auto [mean, cv] = GapStats(arrivals, 20000);
  EXPECT_NEAR(mean, 1.0 / 8, 0.03 / 8);
  EXPECT_NEAR(cv, 1.0, 0.05);  // exponential: standard deviation = mean
}

TEST(ArrivalProcessTest, BurstinessShapesTheGapsNotTheRate) {
  // Gamma shape k: coefficient of variation 1 / sqrt(k), mean still 1 / rate.
  for (double burstiness : {0.25, 4.0}) {
    ArrivalProcess arrivals(/*rate=*/2, burstiness, /*seed=*/9);
    const auto [mean, cv] = GapStats(arrivals, 40000);
    EXPECT_NEAR(mean, 0.5, 0.5 * 0.04) << burstiness;
    EXPECT_NEAR(cv, 1 / std::sqrt(burstiness), 0.08 / std::sqrt(burstiness)) << burstiness;
  }
}

TEST(ArrivalProcessTest, SeededArrivalsRepeat) {
  ArrivalProcess a(3, 0.5, 77), b(3, 0.5, 77), c(3, 0.5, 78);
  bool all_same = true, any_differs = false;
  for (int i = 0; i < 100; ++i) {
    const double x = a.NextGapSeconds();
    all_same &= x == b.NextGapSeconds();
    any_differs |= x != c.NextGapSeconds();
  }
  EXPECT_TRUE(all_same);
  EXPECT_TRUE(any_differs);
}

TEST(RandomTest, UniformIntCoversItsRangeEvenly) {
  Random random(4);
  std::map<int64_t, int> counts;
  for (int i = 0; i < 7000; ++i) ++counts[random.UniformInt(-3, 3)];
  ASSERT_EQ(counts.size(), 7u);
  EXPECT_EQ(counts.begin()->first, -3);
  for (const auto& [value, count] : counts) EXPECT_NEAR(count, 1000, 150) << value;
}

}  // namespace
}  // namespace glaserve::loadtest
