#include "server/metrics/metric_names.h"

#include "gtest/gtest.h"

namespace glaserve::metrics {
namespace {

TEST(MetricNamesTest, MetricNames) {
  EXPECT_TRUE(IsValidMetricName("glaserve_requests_total"));
  EXPECT_TRUE(IsValidMetricName("_x"));
  EXPECT_TRUE(IsValidMetricName(":recording:rule"));
  EXPECT_TRUE(IsValidMetricName("a1"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("1a"));
  EXPECT_FALSE(IsValidMetricName("with-dash"));
  EXPECT_FALSE(IsValidMetricName("with space"));
  EXPECT_FALSE(IsValidMetricName("caf\xC3\xA9"));
}

TEST(MetricNamesTest, LabelNames) {
  EXPECT_TRUE(IsValidLabelName("finish_reason"));
  EXPECT_TRUE(IsValidLabelName("_private"));
  EXPECT_TRUE(IsValidLabelName("le"));  // valid in general; histograms reserve it
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("__reserved"));
  EXPECT_FALSE(IsValidLabelName("a:b"));  // colons are for metric names only
  EXPECT_FALSE(IsValidLabelName("9lives"));
  EXPECT_FALSE(IsValidLabelName(""));
  EXPECT_FALSE(IsValidLabelName("a.b"));
}

}  // namespace
}  // namespace glaserve::metrics
