// Thousands of streams cancelled at random points against a real `glaserve serve`: before
// the call is sent, while waiting for a slot, in the middle of a prompt, after some
// tokens, by a deadline, while not reading. Afterwards no slot is held, nothing waits,
// resident memory is back near where it was, and the server's counters agree with what
// the clients saw.
#include <random>

#include "absl/strings/str_cat.h"

#include "gtest/gtest.h"
#include "tests/reliability/server_probe.h"
#include "tests/reliability/stream_client.h"

namespace glaserve {
namespace {

using ::glaserve::testing::ServerProcess;
using ::glaserve::testing::StreamOutcome;
using ::glaserve::testing::StreamPlan;

// A random plan; `completes` tells whether it may end OK.
StreamPlan RandomPlan(std::mt19937& random, bool* completes) {
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random); };
  StreamPlan plan;
  // Prompts up to 300 tokens over a 64-token step budget: cancellations land mid-prompt too.
  const int prompt_length = uniform(1, 300);
  for (int i = 0; i < prompt_length; ++i) plan.request.add_prompt_token_ids(uniform(3, 500));
  plan.request.mutable_sampling()->set_ignore_eos(true);
  plan.request.mutable_sampling()->set_max_tokens(100000);
  *completes = false;
  const int kind = uniform(0, 99);
  if (kind < 20) {
    plan.cancel_after_tokens = 0;  // cancelled as soon as it is sent
  } else if (kind < 55) {
    plan.cancel_after_tokens = uniform(1, 60);
  } else if (kind < 70) {
    plan.deadline = absl::Milliseconds(uniform(1, 40));
  } else if (kind < 85) {
    plan.stall_after_responses = uniform(1, 5);  // stops reading, then goes away
    plan.cancel_when_stalled = true;
  } else {
    plan.request.mutable_sampling()->set_max_tokens(uniform(1, 32));
    *completes = true;
  }
  return plan;
}

constexpr int kInFlight = 24;  // within 8 slots + 32 waiting, but ended calls free their room a step late

TEST(CancellationStormTest, ThousandsOfCancelledStreamsLeaveNothingBehind) {
  ServerProcess server(testing::ServeArgs(
      {"--max-seqs", "8", "--max-waiting", "32", "--max-batch-tokens", "64", "--metrics-port", "0"}));
  ASSERT_NE(server.port(), 0);
  std::mt19937 random(7);
  auto make_plans = [&](int count, int64_t* num_completing) {
    std::vector<StreamPlan> plans;
    for (int i = 0; i < count; ++i) {
      bool completes;
      plans.push_back(RandomPlan(random, &completes));
      *num_completing += completes;
    }
    return plans;
  };
  // Warm up with the same mix, so that the baseline includes the allocator's working set.
  int64_t warmup_completing = 0;
  const std::vector<StreamOutcome> warmup =
      testing::RunStreams(server.address(), make_plans(300, &warmup_completing), kInFlight);
  const int64_t warmup_ok = testing::CountCode(warmup, grpc::StatusCode::OK);
  const int64_t warmup_refused = testing::CountCode(warmup, grpc::StatusCode::RESOURCE_EXHAUSTED);
  ASSERT_TRUE(testing::WaitServerIdle(server.address(), absl::Seconds(10)));
  const int64_t rss_base = testing::ResidentBytes(server.pid());

  constexpr int kStreams = 3000;
  int64_t num_completing = 0;
  const absl::Time start = absl::Now();
  const std::vector<StreamOutcome> outcomes =
      testing::RunStreams(server.address(), make_plans(kStreams, &num_completing), kInFlight);
  const absl::Duration took = absl::Now() - start;
  const testing::ServerLoad load_now = testing::GetServerLoad(server.address());
  const bool idle = testing::WaitServerIdle(server.address(), absl::Seconds(10));
  const testing::ServerLoad load = testing::GetServerLoad(server.address());
  const int64_t rss_end = testing::ResidentBytes(server.pid());

  int64_t tokens = 0;
  for (const StreamOutcome& outcome : outcomes) {
    tokens += outcome.num_tokens;
    const grpc::StatusCode code = outcome.code;
    EXPECT_TRUE(code == grpc::StatusCode::OK || code == grpc::StatusCode::CANCELLED ||
                code == grpc::StatusCode::DEADLINE_EXCEEDED || code == grpc::StatusCode::RESOURCE_EXHAUSTED)
        << code << ": " << outcome.message;
    if (outcome.cancelled_by_client) EXPECT_NE(code, grpc::StatusCode::OK);
  }
  const int64_t ok = testing::CountCode(outcomes, grpc::StatusCode::OK);
  const int64_t cancelled = testing::CountCode(outcomes, grpc::StatusCode::CANCELLED);
  const int64_t expired = testing::CountCode(outcomes, grpc::StatusCode::DEADLINE_EXCEEDED);
  const int64_t refused = testing::CountCode(outcomes, grpc::StatusCode::RESOURCE_EXHAUSTED);
  std::printf("cancellation storm: %d streams (%d in flight, 8 slots) in %s, %lld tokens: %s\n"
              "  right after: %d slots used, %d waiting; server RSS %.1f MiB before, %.1f MiB after\n",
              kStreams, kInFlight, absl::FormatDuration(took).c_str(), static_cast<long long>(tokens),
              testing::CountByCode(outcomes).c_str(), load_now.slots_in_use, load_now.waiting,
              rss_base / 1048576.0, rss_end / 1048576.0);
  EXPECT_TRUE(idle);
  EXPECT_EQ(load.slots_in_use, 0);
  EXPECT_EQ(load.waiting, 0);
  EXPECT_LE(ok, num_completing);
  EXPECT_GT(cancelled, kStreams / 3);
  EXPECT_GT(expired, 0);
  if (testing::kMemoryIsMeasurable) EXPECT_LT(rss_end - rss_base, 16 << 20);

  // Every stream the clients saw end OK, the server counted OK, and no other. (A call
  // cancelled before it arrived the server never saw; a refusal may reach a client that
  // cancelled meanwhile as CANCELLED.)
  const std::string metrics = testing::ScrapeMetrics(server.metrics_port());
  auto server_count = [&](const char* status, const char* reason) {
    return static_cast<int64_t>(testing::MetricSample(
        metrics, absl::StrCat("glaserve_requests_total{status=\"", status, "\",finish_reason=\"", reason, "\"}")));
  };
  EXPECT_EQ(server_count("OK", "length"), warmup_ok + ok);
  EXPECT_GE(server_count("RESOURCE_EXHAUSTED", "none"), warmup_refused + refused);
  std::printf("  server counted: OK %lld, CANCELLED %lld, DEADLINE_EXCEEDED %lld, RESOURCE_EXHAUSTED %lld "
              "(warm-up included)\n",
              static_cast<long long>(server_count("OK", "length")),
              static_cast<long long>(server_count("CANCELLED", "cancelled")),
              static_cast<long long>(server_count("DEADLINE_EXCEEDED", "cancelled")),
              static_cast<long long>(server_count("RESOURCE_EXHAUSTED", "none")));
  testing::ExpectCleanExit(server);
}

}  // namespace
}  // namespace glaserve
