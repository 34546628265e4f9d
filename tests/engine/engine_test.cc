// The engine driven in-process: batching must not change greedy output, admission and
// queue limits, cancellation and deadlines free slots, chunked prefill keeps decodes going.
#include "engine/engine.h"

#include <atomic>
#include <random>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/collecting_sink.h"
#include "tests/testing/test_checkpoint.h"

namespace glaserve {
namespace {

using ::glaserve::testing::CollectingSink;
using ::testing::HasSubstr;

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(testing::MakeTempDir("engine"));
    ASSERT_TRUE(testing::WriteRandomCheckpoint(
        *dir_, {"--hidden-size", "64", "--num-layers", "2", "--num-heads", "2", "--vocab-size", "256",
                "--seed", "21"}));
  }

  std::unique_ptr<Engine> MakeEngine(int32_t slots, EngineOptions options = {}) {
    absl::StatusOr<LoadedModel> model = LoadModel({*dir_, "cpu", slots});
    EXPECT_TRUE(model.ok()) << model.status();
    return std::make_unique<Engine>(*std::move(model), options);
  }

  static GenerationRequest Greedy(std::vector<int32_t> prompt, int32_t max_tokens) {
    GenerationRequest request;
    request.prompt_token_ids = std::move(prompt);
    request.params.temperature = 0;
    request.params.max_tokens = max_tokens;
    request.params.ignore_eos = true;
    return request;
  }

  static std::vector<int32_t> Prompt(int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> ids(n);
    for (int32_t& id : ids) id = 3 + rng() % 250;
    return ids;
  }

  // Steps a thread-less engine until every sink has its final update.
  static void RunUntilDone(Engine& engine, std::vector<std::shared_ptr<CollectingSink>>& sinks) {
    for (int step = 0; step < 10000; ++step) {
      bool all_done = true;
      for (auto& sink : sinks) all_done = all_done && sink->finished();
      if (all_done) return;
      engine.Step();
    }
    FAIL() << "requests did not finish";
  }

  // The tokens `request` gets when it runs alone.
  std::vector<int32_t> RunAlone(GenerationRequest request) {
    auto engine = MakeEngine(1);
    std::vector<std::shared_ptr<CollectingSink>> sinks = {std::make_shared<CollectingSink>()};
    EXPECT_TRUE(engine->Submit(std::move(request), sinks[0]).ok());
    RunUntilDone(*engine, sinks);
    return sinks[0]->token_ids();
  }

  static std::filesystem::path* dir_;
};
std::filesystem::path* EngineTest::dir_ = nullptr;

TEST_F(EngineTest, GreedyOutputDoesNotDependOnTheBatch) {
  const int n = 8;
  std::vector<std::vector<int32_t>> alone(n);
  {
    auto engine = MakeEngine(1);
    for (int i = 0; i < n; ++i) {
      auto sink = std::make_shared<CollectingSink>();
      ASSERT_TRUE(engine->Submit(Greedy(Prompt(5 + 17 * i, i), 20), sink).ok());
      std::vector<std::shared_ptr<CollectingSink>> sinks = {sink};
      RunUntilDone(*engine, sinks);
      alone[i] = sink->token_ids();
      ASSERT_EQ(alone[i].size(), 20u);
    }
  }
  // Together, with a small budget so prompt pieces and decodes mix in every step.
  auto engine = MakeEngine(n, {.max_batch_tokens = 40});
  std::vector<std::shared_ptr<CollectingSink>> sinks;
  for (int i = 0; i < n; ++i) {
    sinks.push_back(std::make_shared<CollectingSink>());
    ASSERT_TRUE(engine->Submit(Greedy(Prompt(5 + 17 * i, i), 20), sinks.back()).ok());
  }
  RunUntilDone(*engine, sinks);
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(sinks[i]->token_ids(), alone[i]) << "request " << i;
    RequestUpdate final = sinks[i]->final_update();
    EXPECT_TRUE(final.status.ok());
    EXPECT_EQ(final.finish_reason, FinishReason::kLength);
    EXPECT_EQ(final.completion_tokens, 20);
    EXPECT_EQ(final.prompt_tokens, 5 + 17 * i);
    EXPECT_EQ(sinks[i]->num_finals(), 1);
  }
  EXPECT_EQ(engine->num_slots_used(), 0);
}

TEST_F(EngineTest, LongPromptIsSplitWhileOthersKeepDecoding) {
  auto engine = MakeEngine(2, {.max_batch_tokens = 16});
  auto running = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->Submit(Greedy(Prompt(4, 1), 30), running).ok());
  engine->Step();  // prefill + first token
  ASSERT_EQ(running->token_ids().size(), 1u);
  auto long_prompt = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->Submit(Greedy(Prompt(100, 2), 5), long_prompt).ok());
  // 100 prompt tokens at 15 per step (one token of budget goes to the decode) take 7 steps;
  // the running request gains a token in each.
  for (int step = 0; step < 6; ++step) {
    engine->Step();
    EXPECT_EQ(running->token_ids().size(), 2u + step);
    EXPECT_TRUE(long_prompt->token_ids().empty());
  }
  engine->Step();
  EXPECT_EQ(long_prompt->token_ids().size(), 1u);
}

TEST_F(EngineTest, QueueFullIsRefusedAtOnce) {
  auto engine = MakeEngine(2, {.max_waiting = 1});
  std::vector<std::shared_ptr<CollectingSink>> sinks;
  for (int i = 0; i < 3; ++i) {
    sinks.push_back(std::make_shared<CollectingSink>());
    ASSERT_TRUE(engine->Submit(Greedy(Prompt(3, i), 4), sinks.back()).ok());
  }
  absl::StatusOr<std::shared_ptr<RequestHandle>> refused =
      engine->Submit(Greedy(Prompt(3, 9), 4), std::make_shared<CollectingSink>());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  engine->Step();
  EXPECT_EQ(engine->num_slots_used(), 2);
  EXPECT_EQ(engine->num_waiting(), 1);
  RunUntilDone(*engine, sinks);
  EXPECT_EQ(engine->num_slots_used(), 0);
  EXPECT_TRUE(engine->Submit(Greedy(Prompt(3, 9), 4), std::make_shared<CollectingSink>()).ok());
}

TEST_F(EngineTest, CancellationFreesTheSlot) {
  auto engine = MakeEngine(1);
  auto sink = std::make_shared<CollectingSink>();
  auto handle = engine->Submit(Greedy(Prompt(10, 3), 1000), sink);
  ASSERT_TRUE(handle.ok());
  for (int i = 0; i < 5; ++i) engine->Step();
  EXPECT_EQ(engine->num_slots_used(), 1);
  (*handle)->Cancel();
  engine->Step();
  ASSERT_TRUE(sink->finished());
  EXPECT_EQ(sink->final_update().status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(sink->final_update().finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(engine->num_slots_used(), 0);
  // A cancelled request that was still waiting never takes a slot.
  auto first = std::make_shared<CollectingSink>(), second = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->Submit(Greedy(Prompt(3, 4), 50), first).ok());
  auto waiting = engine->Submit(Greedy(Prompt(3, 5), 50), second);
  engine->Step();
  (*waiting)->Cancel();
  engine->Step();
  EXPECT_TRUE(second->finished());
  EXPECT_TRUE(second->token_ids().empty());
  EXPECT_EQ(engine->num_waiting(), 0);
}

TEST_F(EngineTest, ExpiredDeadlineEndsTheRequest) {
  auto engine = MakeEngine(1);
  auto sink = std::make_shared<CollectingSink>();
  GenerationRequest request = Greedy(Prompt(10, 3), 1000);
  request.deadline = absl::Now() + absl::Milliseconds(50);
  ASSERT_TRUE(engine->Submit(request, sink).ok());
  engine->Step();
  absl::SleepFor(absl::Milliseconds(60));
  engine->Step();
  ASSERT_TRUE(sink->finished());
  EXPECT_EQ(sink->final_update().status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(engine->num_slots_used(), 0);
}

TEST_F(EngineTest, PausedRequestHoldsItsSlotWhileOthersDecode) {
  auto engine = MakeEngine(2);
  auto paused_sink = std::make_shared<CollectingSink>(), other_sink = std::make_shared<CollectingSink>();
  auto paused = engine->Submit(Greedy(Prompt(5, 1), 20), paused_sink);
  auto other = engine->Submit(Greedy(Prompt(5, 2), 20), other_sink);
  ASSERT_TRUE(paused.ok() && other.ok());
  engine->Step();  // both prompts run and give a first token
  (*paused)->Pause();
  for (int i = 0; i < 5; ++i) engine->Step();
  EXPECT_EQ(paused_sink->token_ids().size(), 1u);
  EXPECT_EQ(other_sink->token_ids().size(), 6u);
  EXPECT_EQ(engine->num_slots_used(), 2);
  (*paused)->Resume();
  std::vector<std::shared_ptr<CollectingSink>> sinks = {paused_sink, other_sink};
  RunUntilDone(*engine, sinks);
  EXPECT_TRUE(paused_sink->final_update().status.ok());
  EXPECT_EQ(paused_sink->token_ids().size(), 20u);
  // Pausing does not change what is generated.
  EXPECT_EQ(paused_sink->token_ids(), RunAlone(Greedy(Prompt(5, 1), 20)));
}

TEST_F(EngineTest, RequestPausedPastTheStallTimeoutIsEnded) {
  EngineOptions options;
  options.stall_timeout = absl::Milliseconds(50);
  auto engine = MakeEngine(1, options);
  engine->Start();
  auto sink = std::make_shared<CollectingSink>();
  auto handle = engine->Submit(Greedy(Prompt(5, 1), 1000000), sink);
  ASSERT_TRUE(handle.ok());
  while (sink->token_ids().empty()) absl::SleepFor(absl::Milliseconds(1));
  (*handle)->Pause();
  ASSERT_TRUE(sink->WaitFinal(absl::Seconds(30)));
  EXPECT_EQ(sink->final_update().status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(sink->final_update().status.message(), HasSubstr("--stream-stall-timeout"));
  EXPECT_TRUE(engine->WaitIdle(absl::Seconds(5)));
  engine->Stop();  // the counts are published just after the idle signal: join first
  EXPECT_EQ(engine->num_slots_used(), 0);
}

// What the server's network threads do to a running engine, from many threads at once:
// submit, pause and resume (backpressure), cancel, give deadlines. Every accepted request
// gets exactly one final update and the slots all come back. Under ThreadSanitizer
// (scripts/test.sh) this is the engine's threading contract checked without gRPC.
TEST_F(EngineTest, ConcurrentClientsSubmitPauseResumeAndCancel) {
  EngineOptions options;
  options.max_waiting = 8;
  options.max_batch_tokens = 32;
  auto engine = MakeEngine(4, options);
  engine->Start();
  constexpr int kThreads = 6, kRequestsEach = 25;
  std::atomic<int> accepted{0}, refused{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < kRequestsEach; ++i) {
        auto sink = std::make_shared<CollectingSink>();
        GenerationRequest request = Greedy(Prompt(1 + rng() % 60, rng()), 1 + rng() % 40);
        if (rng() % 4 == 0) request.deadline = absl::Now() + absl::Milliseconds(rng() % 20);
        auto handle = engine->Submit(std::move(request), sink);
        if (!handle.ok()) {
          EXPECT_EQ(handle.status().code(), absl::StatusCode::kResourceExhausted);
          ++refused;
          continue;
        }
        ++accepted;
        for (int k = 0; k < 3 && !sink->finished(); ++k) {
          (*handle)->Pause();
          absl::SleepFor(absl::Microseconds(rng() % 500));
          (*handle)->Resume();
        }
        if (rng() % 3 == 0) (*handle)->Cancel();
        EXPECT_TRUE(sink->WaitFinal(absl::Seconds(60)));
        EXPECT_EQ(sink->num_finals(), 1);
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(accepted + refused, kThreads * kRequestsEach);
  EXPECT_GT(accepted, 0);
  EXPECT_TRUE(engine->WaitIdle(absl::Seconds(10)));
  engine->Stop();
  EXPECT_EQ(engine->num_slots_used(), 0);
  EXPECT_EQ(engine->num_waiting(), 0);
}

TEST_F(EngineTest, InvalidRequestsNameTheField) {
  auto engine = MakeEngine(1, {.max_prompt_tokens = 50});
  auto submit = [&](GenerationRequest r) {
    return engine->Submit(std::move(r), std::make_shared<CollectingSink>()).status();
  };
  EXPECT_THAT(std::string(submit(Greedy({}, 4)).message()), HasSubstr("prompt"));
  EXPECT_THAT(std::string(submit(Greedy({1, 256}, 4)).message()), HasSubstr("prompt_token_ids[1]=256"));
  EXPECT_THAT(std::string(submit(Greedy(Prompt(51, 1), 4)).message()), HasSubstr("limit of 50"));
  GenerationRequest bad = Greedy({1, 2}, 4);
  bad.params.top_p = 2;
  absl::Status status = submit(bad);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("top_p"));
  EXPECT_EQ(engine->num_waiting(), 0);
}

TEST_F(EngineTest, ThreadedDrainAndStop) {
  auto engine = MakeEngine(2);
  engine->Start();
  auto sink = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->Submit(Greedy(Prompt(8, 1), 16), sink).ok());
  engine->StartDrain();
  absl::Status refused = engine->Submit(Greedy(Prompt(8, 1), 16), std::make_shared<CollectingSink>()).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(engine->WaitIdle(absl::Seconds(30)));
  ASSERT_TRUE(sink->finished());
  EXPECT_EQ(sink->token_ids().size(), 16u);
  EXPECT_TRUE(sink->final_update().status.ok());
  engine->Stop();
}

TEST_F(EngineTest, StopEndsInFlightRequestsWithUnavailable) {
  auto engine = MakeEngine(1);
  auto running = std::make_shared<CollectingSink>(), waiting = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->Submit(Greedy(Prompt(8, 1), 1000), running).ok());
  ASSERT_TRUE(engine->Submit(Greedy(Prompt(8, 2), 1000), waiting).ok());
  engine->Step();
  engine->Stop();
  for (auto& sink : {running, waiting}) {
    ASSERT_TRUE(sink->finished());
    EXPECT_EQ(sink->final_update().status.code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(sink->num_finals(), 1);
  }
}

}  // namespace
}  // namespace glaserve
