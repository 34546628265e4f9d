#include "server/metrics/registry.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace glaserve::metrics {
namespace {

using ::testing::HasSubstr;

TEST(RegistryTest, RendersEveryTypeExactly) {
  Registry registry;
  Family<Counter>& requests = registry.AddCounter(
      "glaserve_requests_total", "Requests finished, by \"reason\".", {"finish_reason"});
  requests.WithLabels({"stop"}).Increment();
  requests.WithLabels({"length"}).Increment(2);
  requests.WithLabels({"stop"}).Increment(0.5);
  Gauge& running = registry.AddGauge("glaserve_running_requests", "Requests running.")
                       .WithLabels({});
  running.Increment(3);
  running.Decrement();
  registry.AddHistogram("glaserve_prompt_tokens", "Prompt length.\nIn tokens.", {10, 100})
      .WithLabels({})
      .Observe(100);
  registry.AddCallbackGauge("glaserve_state_slots_used", "Slots in use.", [] { return 7.0; });
  registry.AddGauge("glaserve_empty", "Labelled, no child yet.", {"phase"});

  EXPECT_EQ(registry.Render(),
            "# HELP glaserve_requests_total Requests finished, by \"reason\".\n"
            "# TYPE glaserve_requests_total counter\n"
            "glaserve_requests_total{finish_reason=\"length\"} 2\n"
            "glaserve_requests_total{finish_reason=\"stop\"} 1.5\n"
            "# HELP glaserve_running_requests Requests running.\n"
            "# TYPE glaserve_running_requests gauge\n"
            "glaserve_running_requests 2\n"
            "# HELP glaserve_prompt_tokens Prompt length.\\nIn tokens.\n"
            "# TYPE glaserve_prompt_tokens histogram\n"
            "glaserve_prompt_tokens_bucket{le=\"10\"} 0\n"
            "glaserve_prompt_tokens_bucket{le=\"100\"} 1\n"
            "glaserve_prompt_tokens_bucket{le=\"+Inf\"} 1\n"
            "glaserve_prompt_tokens_sum 100\n"
            "glaserve_prompt_tokens_count 1\n"
            "# HELP glaserve_state_slots_used Slots in use.\n"
            "# TYPE glaserve_state_slots_used gauge\n"
            "glaserve_state_slots_used 7\n"
            "# HELP glaserve_empty Labelled, no child yet.\n"
            "# TYPE glaserve_empty gauge\n");
}

TEST(RegistryTest, EscapesAwkwardLabelValues) {
  Registry registry;
  registry.AddGauge("g", "Help.", {"path", "model"}).WithLabels({"C:\\tmp\n", "say \"x\""}).Set(1);
  EXPECT_THAT(registry.Render(), HasSubstr("g{path=\"C:\\\\tmp\\n\",model=\"say \\\"x\\\"\"} 1\n"));
}

TEST(RegistryTest, OneHelpAndTypePerFamilyWhateverTheChildren) {
  Registry registry;
  Family<Counter>& tokens = registry.AddCounter("tokens_total", "Tokens.", {"model", "phase"});
  Family<Histogram>& latency =
      registry.AddHistogram("latency_seconds", "Latency.", {0.1, 1}, {"phase"});
  for (int i = 0; i < 50; ++i) {
    tokens.WithLabels({absl::StrCat("m", i), "prefill"}).Increment();
    tokens.WithLabels({absl::StrCat("m", i), "decode"}).Increment();
    latency.WithLabels({absl::StrCat("p", i)}).Observe(0.5);
  }
  int help_lines = 0, type_lines = 0, token_samples = 0, latency_counts = 0;
  for (absl::string_view line : absl::StrSplit(registry.Render(), '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "# HELP ")) ++help_lines;
    if (absl::StartsWith(line, "# TYPE ")) ++type_lines;
    if (absl::StartsWith(line, "tokens_total{")) ++token_samples;
    if (absl::StartsWith(line, "latency_seconds_count{")) ++latency_counts;
  }
  EXPECT_EQ(help_lines, 2);
  EXPECT_EQ(type_lines, 2);
  EXPECT_EQ(token_samples, 100);
  EXPECT_EQ(latency_counts, 50);
}

TEST(RegistryTest, ChildrenAreStable) {
  Registry registry;
  Family<Counter>& family = registry.AddCounter("x_total", "X.", {"a"});
  Counter& first = family.WithLabels({"1"});
  for (int i = 0; i < 1000; ++i) family.WithLabels({absl::StrCat(i + 2)});
  EXPECT_EQ(&family.WithLabels({"1"}), &first);
  first.Increment(5);
  EXPECT_EQ(family.WithLabels({"1"}).Value(), 5);
}

TEST(RegistryDeathTest, RejectsBadNamesAndUse) {
  Registry registry;
  registry.AddGauge("taken", "Taken.");
  registry.AddHistogram("h", "H.", {1});
  EXPECT_DEATH(registry.AddGauge("bad-name", "X."), "invalid metric name");
  EXPECT_DEATH(registry.AddGauge("g", "X.", {"__reserved"}), "invalid label name");
  EXPECT_DEATH(registry.AddGauge("g", "X.", {"a:b"}), "invalid label name");
  EXPECT_DEATH(registry.AddGauge("g", "X.", {"a", "a"}), "duplicate label");
  EXPECT_DEATH(registry.AddGauge("g", ""), "needs help");
  EXPECT_DEATH(registry.AddGauge("taken", "Again."), "registered twice");
  EXPECT_DEATH(registry.AddGauge("h_count", "Clashes with h."), "registered twice");
  EXPECT_DEATH(registry.AddCounter("requests", "No suffix."), "_total");
  EXPECT_DEATH(registry.AddGauge("requests_total", "Suffix."), "_total");
  EXPECT_DEATH(registry.AddHistogram("h2", "H.", {1}, {"le"}), "le");
  EXPECT_DEATH(registry.AddHistogram("h2", "H.", {2, 1}), "strictly increasing");
  Family<Counter>& counter = registry.AddCounter("c_total", "C.", {"a", "b"});
  EXPECT_DEATH(counter.WithLabels({"only one"}), "wrong number of labels");
  EXPECT_DEATH(counter.WithLabels({"x", "y"}).Increment(-1), "non-negative");
}

}  // namespace
}  // namespace glaserve::metrics
