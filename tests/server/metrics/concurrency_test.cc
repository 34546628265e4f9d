// Updates from many threads at once, while a scraper renders, must all land: the totals
// are exact, not approximately right.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/metrics/registry.h"

namespace glaserve::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int kNumThreads = 8;
constexpr int kUpdatesPerThread = 100000;

TEST(ConcurrencyTest, ConcurrentUpdatesLoseNothing) {
  Registry registry;
  Counter& counter = registry.AddCounter("c_total", "C.").WithLabels({});
  Gauge& gauge = registry.AddGauge("g", "G.").WithLabels({});
  Histogram& histogram = registry.AddHistogram("h", "H.", {0.5, 1.5}).WithLabels({});
  Family<Counter>& labelled = registry.AddCounter("l_total", "L.", {"thread"});

  std::atomic<bool> done = false;
  // Renders throughout, so scraping is exercised against the writers too.
  std::thread scraper([&] {
    while (!done) {
      const std::string text = registry.Render();
      ASSERT_THAT(text, HasSubstr("# TYPE h histogram"));
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kNumThreads; ++t) {
    writers.emplace_back([&, t] {
      // Children looked up concurrently by every thread are the same objects.
      Counter& mine = labelled.WithLabels({t % 2 == 0 ? "even" : "odd"});
      for (int i = 0; i < kUpdatesPerThread; ++i) {
        counter.Increment();
        mine.Increment();
        gauge.Increment(2);
        gauge.Decrement();
        histogram.Observe(i % 3);  // 0, 1, 2 in turn: one per bucket
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  done = true;
  scraper.join();

  constexpr double kTotal = double{kNumThreads} * kUpdatesPerThread;
  EXPECT_EQ(counter.Value(), kTotal);
  EXPECT_EQ(gauge.Value(), kTotal);
  EXPECT_EQ(labelled.WithLabels({"even"}).Value() + labelled.WithLabels({"odd"}).Value(), kTotal);
  EXPECT_EQ(labelled.WithLabels({"even"}).Value(), kTotal / 2);
  // Per thread, i % 3 hits 0 for 33334 of the 100000 values of i, 1 and 2 for 33333 each.
  constexpr uint64_t kZeros = uint64_t{kNumThreads} * 33334, kOnes = uint64_t{kNumThreads} * 33333;
  EXPECT_THAT(histogram.CumulativeCounts(),
              ElementsAre(kZeros, kZeros + kOnes, uint64_t{kNumThreads} * kUpdatesPerThread));
  EXPECT_EQ(histogram.Sum(), double{kNumThreads} * (1 * 33333 + 2 * 33333));
  EXPECT_THAT(registry.Render(), HasSubstr("\nc_total 800000\n"));
  EXPECT_THAT(registry.Render(), HasSubstr("\nh_count 800000\n"));
}

}  // namespace
}  // namespace glaserve::metrics
