#include "server/metrics/buckets.h"

#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace glaserve::metrics {
namespace {

using ::testing::ElementsAre;

TEST(BucketsTest, Exponential) {
  EXPECT_THAT(ExponentialBuckets(1, 2, 5), ElementsAre(1, 2, 4, 8, 16));
  // Rounded to what a person would write, so the `le` labels stay readable.
  EXPECT_THAT(ExponentialBuckets(0.001, 1.5, 4), ElementsAre(0.001, 0.0015, 0.00225, 0.003375));
  EXPECT_THAT(ExponentialBuckets(0.1, 10, 3), ElementsAre(0.1, 1, 10));
}

TEST(BucketsTest, Linear) {
  EXPECT_THAT(LinearBuckets(0.1, 0.1, 4), ElementsAre(0.1, 0.2, 0.3, 0.4));
  EXPECT_THAT(LinearBuckets(-1, 1, 3), ElementsAre(-1, 0, 1));
}

TEST(BucketsDeathTest, RejectsBadLayouts) {
  EXPECT_DEATH(ExponentialBuckets(0, 2, 3), "start");
  EXPECT_DEATH(ExponentialBuckets(1, 1, 3), "factor");
  EXPECT_DEATH(LinearBuckets(0, 1, 0), "count");
  EXPECT_DEATH(CheckBucketBounds(std::vector<double>{1, 1}), "strictly increasing");
  EXPECT_DEATH(CheckBucketBounds(std::vector<double>{2, 1}), "strictly increasing");
  EXPECT_DEATH(CheckBucketBounds(std::vector<double>{1, std::numeric_limits<double>::infinity()}),
               "implied");
  EXPECT_DEATH(CheckBucketBounds(std::vector<double>{std::numeric_limits<double>::quiet_NaN()}),
               "NaN");
  CheckBucketBounds(std::vector<double>{});  // the +Inf bucket alone is fine
}

}  // namespace
}  // namespace glaserve::metrics
