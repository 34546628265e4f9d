// Ten times more concurrent streams than state slots, against a real `glaserve serve`:
// the excess waits (while the queue has room) or is refused at once with
// RESOURCE_EXHAUSTED; the admitted streams keep the inter-token pace they have without
// the excess; memory stays flat from round to round.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/reliability/server_probe.h"
#include "tests/reliability/stream_client.h"

namespace glaserve {
namespace {

using ::glaserve::testing::ServerProcess;
using ::glaserve::testing::StreamOutcome;
using ::glaserve::testing::StreamPlan;
using ::testing::HasSubstr;

constexpr int kSlots = 4;
constexpr int kTokens = 200;
constexpr absl::Duration kBaselineTime = absl::Seconds(2);
constexpr absl::Duration kOverloadTime = absl::Seconds(5);

std::vector<StreamPlan> Plans(int count) {
  std::vector<StreamPlan> plans(count);
  for (int i = 0; i < count; ++i) {
    for (int t = 0; t < 16; ++t) plans[i].request.add_prompt_token_ids(3 + (i * 31 + t * 7) % 500);
    plans[i].request.mutable_sampling()->set_max_tokens(kTokens);
    plans[i].request.mutable_sampling()->set_ignore_eos(true);
    plans[i].request.mutable_sampling()->set_temperature(0);
  }
  return plans;
}

std::vector<absl::Duration> Gaps(const std::vector<StreamOutcome>& outcomes) {
  std::vector<absl::Duration> gaps;
  for (const StreamOutcome& outcome : outcomes) {
    if (outcome.code == grpc::StatusCode::OK) gaps.insert(gaps.end(), outcome.gaps.begin(), outcome.gaps.end());
  }
  return gaps;
}

TEST(OverloadTest, ExcessIsRefusedPromptlyAndAdmittedStreamsKeepTheirPace) {
  ServerProcess server(testing::ServeArgs({"--max-seqs", std::to_string(kSlots),
                        "--max-waiting", std::to_string(kSlots)}));
  ASSERT_NE(server.port(), 0);
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  const std::vector<StreamPlan> plans = Plans(10 * kSlots);
  auto make_plan = [&](int64_t i) { return plans[i % plans.size()]; };
  // Baseline: as many clients as slots.
  const std::vector<StreamOutcome> baseline =
      testing::RunUsers(channel, kSlots, kBaselineTime, make_plan, absl::Milliseconds(50));
  ASSERT_EQ(testing::CountCode(baseline, grpc::StatusCode::OK), baseline.size()) << testing::CountByCode(baseline);
  const std::vector<absl::Duration> baseline_gaps = Gaps(baseline);
  const int64_t rss_start = testing::ResidentBytes(server.pid());
  const absl::Time start = absl::Now();

  // Ten clients per slot, each sending again as soon as its stream ends, or 50 ms after
  // a refusal: the server serves while it fields a steady stream of refusals.
  int64_t served = 0, refused = 0;
  std::vector<absl::Duration> refusal_times;
  const std::vector<StreamOutcome> outcomes =
      testing::RunUsers(channel, 10 * kSlots, kOverloadTime, make_plan, absl::Milliseconds(50));
  for (const StreamOutcome& outcome : outcomes) {
    if (outcome.code == grpc::StatusCode::OK) {
      ++served;
      EXPECT_EQ(outcome.num_tokens, kTokens);
    } else {
      ASSERT_EQ(outcome.code, grpc::StatusCode::RESOURCE_EXHAUSTED) << outcome.message;
      EXPECT_THAT(outcome.message, HasSubstr("--max-waiting"));
      EXPECT_EQ(outcome.num_tokens, 0);
      ++refused;
      refusal_times.push_back(outcome.duration);
    }
  }
  const std::vector<absl::Duration> overload_gaps = Gaps(outcomes);
  ASSERT_TRUE(testing::WaitServerIdle(server.address(), absl::Seconds(10)));
  const int64_t rss_end = testing::ResidentBytes(server.pid());
  const absl::Duration took = absl::Now() - start;

  const double base_p50 = testing::QuantileMs(baseline_gaps, 0.5), base_p99 = testing::QuantileMs(baseline_gaps, 0.99);
  const double load_p50 = testing::QuantileMs(overload_gaps, 0.5), load_p99 = testing::QuantileMs(overload_gaps, 0.99);
  std::printf("overload: %d clients on %d slots for %s: served %lld, refused %lld (p99 refusal %.1f ms, max %.1f ms)\n"
              "  inter-token gap p50/p99: %.3f/%.3f ms alone, %.3f/%.3f ms under 10x overload\n"
              "  server RSS %.1f MiB -> %.1f MiB; %s\n",
              10 * kSlots, kSlots, absl::FormatDuration(kOverloadTime).c_str(), static_cast<long long>(served), static_cast<long long>(refused),
              testing::QuantileMs(refusal_times, 0.99), testing::QuantileMs(refusal_times, 1.0), base_p50, base_p99,
              load_p50, load_p99, rss_start / 1048576.0, rss_end / 1048576.0, absl::FormatDuration(took).c_str());
  EXPECT_GT(refused, 0);
  // Refusals come at once, not after a wait in some queue (generous for a loaded CI box).
  EXPECT_LT(testing::QuantileMs(refusal_times, 0.99), 1000);
  // The admitted streams run in the same batch size as without the excess; the bound
  // leaves room for prompt work of newly admitted streams and a shared 2-core machine.
  EXPECT_LT(load_p50, 2 * base_p50 + 2);
  EXPECT_LT(load_p99, 3 * base_p99 + 20);
  if (testing::kMemoryIsMeasurable) EXPECT_LT(rss_end - rss_start, 16 << 20);
  testing::ExpectCleanExit(server);
}

TEST(OverloadTest, ExcessWaitsForASlotWhileTheQueueHasRoom) {
  ServerProcess server(testing::ServeArgs({"--max-seqs", std::to_string(kSlots),
                        "--max-waiting", std::to_string(10 * kSlots)}));
  ASSERT_NE(server.port(), 0);
  const std::vector<StreamOutcome> outcomes = testing::RunStreams(server.address(), Plans(10 * kSlots), 10 * kSlots);
  EXPECT_EQ(testing::CountCode(outcomes, grpc::StatusCode::OK), 10 * kSlots) << testing::CountByCode(outcomes);
  for (const StreamOutcome& outcome : outcomes) EXPECT_EQ(outcome.num_tokens, kTokens);
  EXPECT_TRUE(testing::WaitServerIdle(server.address(), absl::Seconds(10)));
  testing::ExpectCleanExit(server);
}

}  // namespace
}  // namespace glaserve
