#include "server/metrics/histogram.h"

#include <cmath>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace glaserve::metrics {
namespace {

using ::testing::ElementsAre;

TEST(HistogramTest, BucketsAreCumulativeAndInclusive) {
  Histogram h({1, 2.5, 10});
  // Bounds are inclusive (`le`): 1 counts in le="1", 2.5 in le="2.5", 10 in le="10".
  for (double v : {0.5, 1.0, 1.0000001, 2.5, 3.0, 10.0, 11.0, -4.0}) h.Observe(v);
  //                   <=1: 0.5, 1, -4     <=2.5: +1.0000001, 2.5    <=10: +3, 10   +Inf: +11
  EXPECT_THAT(h.CumulativeCounts(), ElementsAre(3, 5, 7, 8));
  EXPECT_EQ(h.Count(), 8u);
  EXPECT_DOUBLE_EQ(h.Sum(), 0.5 + 1.0 + 1.0000001 + 2.5 + 3.0 + 10.0 + 11.0 - 4.0);
}

TEST(HistogramTest, RendersBucketsSumAndCount) {
  Histogram h({0.1, 1});
  h.Observe(0.1);
  h.Observe(0.5);
  h.Observe(4);
  std::string out;
  h.AppendSamples(out, "glaserve_ttft_seconds", R"(phase="decode")");
  EXPECT_EQ(out,
            "glaserve_ttft_seconds_bucket{phase=\"decode\",le=\"0.1\"} 1\n"
            "glaserve_ttft_seconds_bucket{phase=\"decode\",le=\"1\"} 2\n"
            "glaserve_ttft_seconds_bucket{phase=\"decode\",le=\"+Inf\"} 3\n"
            "glaserve_ttft_seconds_sum{phase=\"decode\"} 4.6\n"
            "glaserve_ttft_seconds_count{phase=\"decode\"} 3\n");
}

TEST(HistogramTest, RendersWithoutLabels) {
  Histogram h({5});
  h.Observe(7);
  std::string out;
  h.AppendSamples(out, "len", "");
  EXPECT_EQ(out,
            "len_bucket{le=\"5\"} 0\n"
            "len_bucket{le=\"+Inf\"} 1\n"
            "len_sum 7\n"
            "len_count 1\n");
}

TEST(HistogramTest, EmptyLayoutHasOnlyTheInfBucket) {
  Histogram h({});
  h.Observe(1);
  h.Observe(2);
  EXPECT_THAT(h.CumulativeCounts(), ElementsAre(2));
  EXPECT_DOUBLE_EQ(h.Sum(), 3);
}

TEST(HistogramTest, InfinitiesAndNaN) {
  Histogram h({0});
  h.Observe(-INFINITY);  // <= 0
  h.Observe(INFINITY);   // +Inf bucket only
  EXPECT_THAT(h.CumulativeCounts(), ElementsAre(1, 2));
  EXPECT_TRUE(std::isnan(h.Sum()));  // -Inf + Inf
  Histogram g({1});
  g.Observe(std::nan(""));  // not "<= 1": counted in +Inf, as Prometheus' Go client does
  EXPECT_THAT(g.CumulativeCounts(), ElementsAre(0, 1));
  EXPECT_TRUE(std::isnan(g.Sum()));
}

}  // namespace
}  // namespace glaserve::metrics
