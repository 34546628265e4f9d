// promtool, Prometheus' own checker, must find nothing wrong with our output: a registry
// of every type, special values and awkward label values, as the server would expose it.
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "server/metrics/buckets.h"
#include "server/metrics/registry.h"

namespace glaserve::metrics {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void FillEveryType(Registry& registry) {
  Family<Counter>& requests = registry.AddCounter(
      "glaserve_requests_total", "Requests finished, by reason.\nSecond \\ line.",
      {"finish_reason", "model"});
  requests.WithLabels({"stop", "gla-1.3B"}).Increment(3);
  requests.WithLabels({"length", "quote \" backslash \\ newline \n end"}).Increment();
  requests.WithLabels({"", "caf\xC3\xA9 \xF0\x9F\x98\x80 and invalid \xFF"}).Increment(1e21);
  registry.AddCounter("glaserve_generated_tokens_total", "Tokens generated.").WithLabels({})
      .Increment(0.5);
  Family<Gauge>& special = registry.AddGauge("glaserve_special_values", "Special values.",
                                             {"kind"});
  special.WithLabels({"plus_inf"}).Set(kInf);
  special.WithLabels({"minus_inf"}).Set(-kInf);
  special.WithLabels({"nan"}).Set(std::nan(""));
  special.WithLabels({"tiny"}).Set(1e-300);
  special.WithLabels({"negative"}).Set(-42.25);
  registry.AddGauge("glaserve_unused", "Labelled family without children.", {"phase"});
  registry.AddCallbackGauge("glaserve_state_slots_used", "Slots in use.", [] { return 3.0; });
  Family<Histogram>& ttft = registry.AddHistogram(
      "glaserve_time_to_first_token_seconds", "Time to first token.",
      ExponentialBuckets(0.001, 2, 12), {"phase"});
  for (double v : {0.0005, 0.001, 0.3, 2.0, 100.0}) ttft.WithLabels({"prefill"}).Observe(v);
  ttft.WithLabels({"decode"});  // a child with no observations yet
  registry.AddHistogram("glaserve_prompt_tokens", "Prompt length in tokens.",
                        {1, 10, 100, 1000})
      .WithLabels({})
      .Observe(17);
}

TEST(PromtoolTest, CheckMetricsIsClean) {
  const std::string promtool = GLASERVE_PROMTOOL;
  ASSERT_TRUE(std::filesystem::exists(promtool))
      << promtool << " is missing: install the Debian package `prometheus` "
      << "(scripts/install-deps.sh does)";
  Registry registry;
  FillEveryType(registry);
  const std::string text = registry.Render();

  const std::filesystem::path file =
      std::filesystem::path(::testing::TempDir()) / "promtool_test_metrics.txt";
  std::ofstream(file) << text;
  const std::string command = promtool + " check metrics < " + file.string() + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  std::filesystem::remove(file);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "promtool says:\n" << output << "\nabout:\n" << text;
  EXPECT_EQ(output, "") << "about:\n" << text;
}

}  // namespace
}  // namespace glaserve::metrics
