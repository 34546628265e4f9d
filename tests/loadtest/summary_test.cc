// Percentiles and summaries against values computed by hand (numpy's linear method).
#include "loadtest/summary.h"

#include <algorithm>
#include <random>

#include "gtest/gtest.h"

namespace glaserve::loadtest {
namespace {

TEST(PercentileTest, InterpolatesBetweenClosestRanks) {
  const std::vector<double> sorted = {1, 2, 3, 4, 5};
  EXPECT_DOUBLE_EQ(Percentile(sorted, 0), 1);
  EXPECT_DOUBLE_EQ(Percentile(sorted, 50), 3);
  EXPECT_DOUBLE_EQ(Percentile(sorted, 90), 4.6);   // rank 0.9 * 4 = 3.6
  EXPECT_DOUBLE_EQ(Percentile(sorted, 99), 4.96);  // rank 3.96
  EXPECT_DOUBLE_EQ(Percentile(sorted, 100), 5);
  EXPECT_DOUBLE_EQ(Percentile({10, 20}, 50), 15);
  EXPECT_DOUBLE_EQ(Percentile({10, 20}, 90), 19);
  EXPECT_DOUBLE_EQ(Percentile({7}, 99), 7);
  EXPECT_DOUBLE_EQ(Percentile({}, 50), 0);
}

TEST(SummarizeTest, SortsAndSummarizes) {
  // 1..100 shuffled: p50 = 50.5, p90 = 90.1, p99 = 99.01.
  std::vector<double> values;
  for (int i = 1; i <= 100; ++i) values.push_back(i);
  std::shuffle(values.begin(), values.end(), std::mt19937(1));
  const Summary s = Summarize(values);
  EXPECT_EQ(s.count, 100);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 100);
  EXPECT_DOUBLE_EQ(s.p50, 50.5);
  EXPECT_NEAR(s.p90, 90.1, 1e-12);
  EXPECT_NEAR(s.p99, 99.01, 1e-12);
}

TEST(SummarizeTest, EmptyIsAllZero) {
  const Summary s = Summarize({});
  EXPECT_EQ(s.count, 0);
  EXPECT_EQ(s.mean, 0);
  EXPECT_EQ(s.max, 0);
}

}  // namespace
}  // namespace glaserve::loadtest
