// Clients that stop reading or read slowly, against a real `glaserve serve`: a stalled
// stream must not hold up the others, must not grow the server's memory, and must be
// ended (slot freed, a clear status) once stalled past --stream-stall-timeout; a slow
// reader is paused, not ended, and gets exactly the tokens a fast one gets.
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/reliability/server_probe.h"
#include "tests/reliability/stream_client.h"

namespace glaserve {
namespace {

using ::glaserve::testing::ServerProcess;
using ::glaserve::testing::Stream;
using ::glaserve::testing::StreamOutcome;
using ::glaserve::testing::StreamPlan;
using ::testing::HasSubstr;

v1::GenerateRequest Request(int max_tokens, int logprobs, float temperature) {
  v1::GenerateRequest request;
  for (int i = 0; i < 8; ++i) request.add_prompt_token_ids(10 + i);
  request.mutable_sampling()->set_max_tokens(max_tokens);
  request.mutable_sampling()->set_ignore_eos(true);
  request.mutable_sampling()->set_logprobs(logprobs);
  request.mutable_sampling()->set_temperature(temperature);
  return request;
}

TEST(StalledReaderTest, StalledStreamIsEndedWithoutBlockingOthersOrGrowingMemory) {
  ServerProcess server(testing::ServeArgs({"--max-seqs", "4", "--stream-buffer-bytes",
                        "4096", "--stream-stall-timeout", "2"}));
  ASSERT_NE(server.port(), 0);
  auto stub = v1::TextGeneration::NewStub(testing::SmallWindowChannel(server.address()));
  // The most output per token the API allows (20 logprobs), and no end in sight.
  StreamPlan stalled_plan{Request(1 << 20, 20, 1.0f)};
  stalled_plan.stall_after_responses = 1;
  Stream stalled(stalled_plan);
  stalled.Start(*stub);
  ASSERT_TRUE(stalled.WaitStalled(absl::Seconds(30)));
  const absl::Time stalled_at = absl::Now();
  const int64_t rss_at_stall = testing::ResidentBytes(server.pid());

  // Meanwhile other clients stream normally.
  std::vector<StreamPlan> plans;
  for (int i = 0; i < 3; ++i) plans.push_back({Request(200, 0, 0.0f)});
  const std::vector<StreamOutcome> others = testing::RunStreams(server.address(), plans, 3);
  for (const StreamOutcome& outcome : others) {
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << "message: " << outcome.message;
    EXPECT_EQ(outcome.num_tokens, 200);
  }
  const absl::Duration others_took = absl::Now() - stalled_at;

  // The stalled stream fills the transport's buffers, pauses, and is ended after the
  // stall timeout; its slot comes back. Memory stays flat meanwhile.
  int64_t rss_max = rss_at_stall;
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  testing::ServerLoad load;
  while (absl::Now() < give_up) {
    rss_max = std::max(rss_max, testing::ResidentBytes(server.pid()));
    load = testing::GetServerLoad(server.address());
    if (load.slots_in_use == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const absl::Duration ended_after = absl::Now() - stalled_at;
  EXPECT_EQ(load.slots_in_use, 0) << "the stalled stream still holds its slot";
  EXPECT_EQ(load.waiting, 0);
  const int64_t rss_end = testing::ResidentBytes(server.pid());
  std::printf("stalled reader: others finished in %s, stalled stream ended after %s; server RSS %.1f MiB at "
              "stall, max %.1f MiB, end %.1f MiB\n",
              absl::FormatDuration(others_took).c_str(), absl::FormatDuration(ended_after).c_str(),
              rss_at_stall / 1048576.0, rss_max / 1048576.0, rss_end / 1048576.0);
  if (testing::kMemoryIsMeasurable) EXPECT_LT(rss_max - rss_at_stall, 32 << 20);

  // Reading again: what was sent before the stall, then the status that says why.
  stalled.Resume();
  ASSERT_TRUE(stalled.WaitDone(absl::Seconds(30)));
  EXPECT_EQ(stalled.outcome().code, grpc::StatusCode::RESOURCE_EXHAUSTED) << stalled.outcome().message;
  EXPECT_THAT(stalled.outcome().message, HasSubstr("--stream-stall-timeout"));
  std::printf("stalled reader: got %lld tokens in %d responses before the end\n",
              static_cast<long long>(stalled.outcome().num_tokens), stalled.outcome().num_responses);
  testing::ExpectCleanExit(server);
}

TEST(StalledReaderTest, SlowReaderIsPausedNotEndedAndGetsEveryToken) {
  ServerProcess server(testing::ServeArgs({"--max-seqs", "2", "--stream-buffer-bytes",
                        "512", "--stream-stall-timeout", "5"}));
  ASSERT_NE(server.port(), 0);
  auto channel = testing::SmallWindowChannel(server.address());
  const v1::GenerateRequest request = Request(300, 5, 0.0f);
  const StreamOutcome fast = testing::RunStreams(channel, {StreamPlan{request}}, 1)[0];
  ASSERT_EQ(fast.code, grpc::StatusCode::OK) << fast.message;

  StreamPlan slow_plan{request};
  slow_plan.read_delay = absl::Milliseconds(10);
  Stream slow(slow_plan);
  auto stub = v1::TextGeneration::NewStub(channel);
  slow.Start(*stub);
  // Generating 300 tokens takes milliseconds; paced by the reader it takes seconds, and
  // the request holds its slot meanwhile.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(testing::GetServerLoad(server.address()).slots_in_use, 1) << "generation did not wait for the reader";
  ASSERT_TRUE(slow.WaitDone(absl::Seconds(60)));
  const StreamOutcome& outcome = slow.outcome();
  ASSERT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
  EXPECT_EQ(outcome.token_ids, fast.token_ids);
  EXPECT_EQ(outcome.text, fast.text);
  std::printf("slow reader: %d responses for %lld tokens in %s (fast reader: %s)\n", outcome.num_responses,
              static_cast<long long>(outcome.num_tokens), absl::FormatDuration(outcome.duration).c_str(),
              absl::FormatDuration(fast.duration).c_str());
  EXPECT_TRUE(testing::WaitServerIdle(server.address(), absl::Seconds(5)));
  testing::ExpectCleanExit(server);
}

}  // namespace
}  // namespace glaserve
