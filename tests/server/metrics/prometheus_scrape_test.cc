// The real consumer: a Prometheus server scrapes MetricsHttpServer over loopback and its
// query API must return our series, awkward label values included, with the values we set.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/metrics/metrics_http_server.h"
#include "server/metrics/registry.h"
#include "tests/testing/prometheus_process.h"

namespace glaserve::metrics {
namespace {

constexpr auto kScrapeTimeout = std::chrono::seconds(30);
constexpr char kAwkwardReason[] = "a \"quoted\" \\ back\nslash";

TEST(PrometheusScrapeTest, RealPrometheusScrapesOurEndpoint) {
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/prometheus"))
      << "/usr/bin/prometheus is missing: install the Debian package `prometheus` "
      << "(scripts/install-deps.sh does)";

  Registry registry;
  Family<Counter>& requests = registry.AddCounter(
      "glaserve_test_requests_total", "Requests finished, by reason.", {"finish_reason"});
  requests.WithLabels({"stop"}).Increment(42);
  requests.WithLabels({kAwkwardReason}).Increment(7);
  registry.AddCallbackGauge("glaserve_test_slots_used", "Slots in use.", [] { return 3.0; });
  Histogram& latency =
      registry.AddHistogram("glaserve_test_latency_seconds", "Latency.", {0.125, 1})
          .WithLabels({});
  for (double v : {0.0625, 0.125, 0.5, 5.0}) latency.Observe(v);  // exact in binary

  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start(registry, "127.0.0.1", 0);
  ASSERT_TRUE(server.ok()) << server.status();

  testing::PrometheusProcess process({absl::StrCat("127.0.0.1:", (*server)->port())});
  ASSERT_TRUE(process.WaitReady()) << "prometheus not ready after 30 s:\n" << process.Log();

  const std::map<std::string, std::string> expected_requests = {{"stop", "42"},
                                                                {kAwkwardReason, "7"}};
  std::map<std::string, std::string> up, found_requests, slots, buckets, count, sum;
  const auto scrape_deadline = std::chrono::steady_clock::now() + kScrapeTimeout;
  while (std::chrono::steady_clock::now() < scrape_deadline) {
    up = process.Query("up", "job");
    found_requests = process.Query("glaserve_test_requests_total", "finish_reason");
    slots = process.Query("glaserve_test_slots_used", "job");
    buckets = process.Query("glaserve_test_latency_seconds_bucket", "le");
    count = process.Query("glaserve_test_latency_seconds_count", "job");
    sum = process.Query("glaserve_test_latency_seconds_sum", "job");
    if (up["glaserve"] == "1" && found_requests == expected_requests && !slots.empty() &&
        buckets.size() == 3 && !count.empty() && !sum.empty()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_EQ(up["glaserve"], "1") << process.Log();
  EXPECT_EQ(found_requests, expected_requests) << process.Log();
  EXPECT_EQ(slots["glaserve"], "3");
  EXPECT_EQ(buckets, (std::map<std::string, std::string>{{"0.125", "2"}, {"1", "3"}, {"+Inf", "4"}}));
  EXPECT_EQ(count["glaserve"], "4");
  EXPECT_EQ(sum["glaserve"], "5.6875");
}

}  // namespace
}  // namespace glaserve::metrics
