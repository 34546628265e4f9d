// State reuse through the engine: with the prefix cache, sessions or an exported state,
// greedy output is the same as generating from the whole token history at once; every
// refusal comes from Submit, before any token; no slot or session is left held.
#include "engine/state_reuse.h"

#include <random>

#include "engine/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/collecting_sink.h"
#include "tests/testing/test_checkpoint.h"

namespace glaserve {
namespace {

using ::glaserve::testing::CollectingSink;
using ::testing::HasSubstr;

std::vector<int32_t> Concat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

// Sums what the engine reports per step.
class StepCounter : public EngineObserver {
 public:
  void OnStep(const StepStats& stats) override {
    num_prefill_tokens += stats.num_prefill_tokens;
    hits += stats.prefix_cache.num_hits;
    misses += stats.prefix_cache.num_misses;
    tokens_saved += stats.prefix_cache.num_tokens_saved;
  }
  int64_t num_prefill_tokens = 0, hits = 0, misses = 0, tokens_saved = 0;
};

class StateReuseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(testing::MakeTempDir("reuse"));
    ASSERT_TRUE(testing::WriteRandomCheckpoint(
        *dir_, {"--hidden-size", "64", "--num-layers", "2", "--num-heads", "2", "--vocab-size", "256",
                "--seed", "21"}));
  }

  // Small thresholds so that test prompts of tens of tokens leave states behind.
  static StateReuseOptions Reuse(int64_t prefix_cache_bytes = 64 << 20, int64_t session_bytes = 64 << 20) {
    return {.prefix_cache_bytes = prefix_cache_bytes,
            .prefix_cache_chunk_tokens = 16,
            .prefix_cache_min_tokens = 4,
            .session_bytes = session_bytes,
            .session_ttl = absl::Minutes(5)};
  }

  static std::unique_ptr<Engine> MakeEngine(int32_t slots, EngineOptions options,
                                            const std::filesystem::path* dir = nullptr) {
    absl::StatusOr<LoadedModel> model = LoadModel({dir ? *dir : *dir_, "cpu", slots});
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

  static std::vector<int32_t> Tokens(int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> ids(n);
    for (int32_t& id : ids) id = 3 + rng() % 250;
    return ids;
  }

  static void RunUntilDone(Engine& engine, const std::vector<std::shared_ptr<CollectingSink>>& sinks) {
    for (int step = 0; step < 10000; ++step) {
      bool all_done = true;
      for (auto& sink : sinks) all_done = all_done && sink->finished();
      if (all_done) return;
      engine.Step();
    }
    FAIL() << "requests did not finish";
  }

  // Runs one request to its end; returns the final update with every token in it.
  static RequestUpdate Run(Engine& engine, GenerationRequest request, std::vector<int32_t>* tokens = nullptr) {
    auto sink = std::make_shared<CollectingSink>();
    absl::StatusOr<std::shared_ptr<RequestHandle>> handle = engine.Submit(std::move(request), sink);
    EXPECT_TRUE(handle.ok()) << handle.status();
    if (!handle.ok()) return {};
    RunUntilDone(engine, {sink});
    if (tokens != nullptr) *tokens = sink->token_ids();
    RequestUpdate final = sink->final_update();
    EXPECT_TRUE(final.status.ok()) << final.status;
    return final;
  }

  // Greedy output for `prompt` on an engine without any reuse.
  static std::vector<int32_t> Reference(const std::vector<int32_t>& prompt, int32_t max_tokens) {
    static Engine* plain = MakeEngine(1, {}).release();
    std::vector<int32_t> tokens;
    Run(*plain, Greedy(prompt, max_tokens), &tokens);
    return tokens;
  }

  static std::filesystem::path* dir_;
};
std::filesystem::path* StateReuseTest::dir_ = nullptr;

TEST_F(StateReuseTest, SharedSystemPromptHitsAndChangesNothing) {
  StepCounter counter;
  auto engine = MakeEngine(2, {.reuse = Reuse()});
  engine->set_observer(&counter);
  const std::vector<int32_t> system = Tokens(40, 1);
  int64_t expected_prefill = 0;
  for (int i = 0; i < 4; ++i) {
    const std::vector<int32_t> prompt = Concat({system, Tokens(5 + i, 100 + i)});
    std::vector<int32_t> tokens;
    RequestUpdate final = Run(*engine, Greedy(prompt, 12), &tokens);
    EXPECT_EQ(tokens, Reference(prompt, 12)) << "request " << i;
    EXPECT_EQ(final.prompt_tokens, static_cast<int32_t>(prompt.size()));
    // The first request finds nothing; the second the chunk boundary at 32 that the first
    // left; the third the branch point at 40 that the second left.
    const int32_t expected_cached[] = {0, 32, 40, 40};
    EXPECT_EQ(final.cached_prompt_tokens, expected_cached[i]) << "request " << i;
    expected_prefill += static_cast<int64_t>(prompt.size()) - expected_cached[i];
  }
  // The scheduler prefilled only what the cache did not hold.
  EXPECT_EQ(counter.num_prefill_tokens, expected_prefill);
  EXPECT_EQ(counter.hits, 3);
  EXPECT_EQ(counter.misses, 1);
  EXPECT_EQ(counter.tokens_saved, 32 + 40 + 40);
  EXPECT_GT(engine->reuse().prefix_cache_bytes(), 0);
  EXPECT_EQ(engine->num_slots_used(), 0);
}

TEST_F(StateReuseTest, PrefixEndingMidChunkWithOddPieces) {
  // Pieces of 7 tokens: no snapshot position falls on a piece boundary by chance.
  auto engine = MakeEngine(1, {.max_batch_tokens = 7, .reuse = Reuse()});
  const std::vector<int32_t> shared = Tokens(37, 2);
  for (int i = 0; i < 3; ++i) {
    const std::vector<int32_t> prompt = Concat({shared, Tokens(3, 200 + i)});
    std::vector<int32_t> tokens;
    RequestUpdate final = Run(*engine, Greedy(prompt, 10), &tokens);
    EXPECT_EQ(tokens, Reference(prompt, 10)) << "request " << i;
    const int32_t expected_cached[] = {0, 32, 37};
    EXPECT_EQ(final.cached_prompt_tokens, expected_cached[i]) << "request " << i;
  }
  // The same prompt again: the state one token short of its end is kept for it.
  const std::vector<int32_t> again = Concat({shared, Tokens(3, 202)});
  std::vector<int32_t> tokens;
  Run(*engine, Greedy(again, 10), &tokens);
  EXPECT_EQ(Run(*engine, Greedy(again, 10), &tokens).cached_prompt_tokens, 39);
  EXPECT_EQ(tokens, Reference(again, 10));
}

TEST_F(StateReuseTest, ConcurrentRequestsShareOneCachedPrefix) {
  auto engine = MakeEngine(4, {.max_batch_tokens = 64, .reuse = Reuse()});
  const std::vector<int32_t> shared = Tokens(48, 3);
  Run(*engine, Greedy(Concat({shared, Tokens(4, 300)}), 4));
  Run(*engine, Greedy(Concat({shared, Tokens(4, 301)}), 4));  // leaves the branch point at 48
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::shared_ptr<CollectingSink>> sinks;
  for (int i = 0; i < 4; ++i) {
    prompts.push_back(Concat({shared, Tokens(6 + i, 310 + i)}));
    sinks.push_back(std::make_shared<CollectingSink>());
    ASSERT_TRUE(engine->Submit(Greedy(prompts.back(), 16), sinks.back()).ok());
  }
  RunUntilDone(*engine, sinks);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(sinks[i]->final_update().cached_prompt_tokens, 48) << i;
    EXPECT_EQ(sinks[i]->token_ids(), Reference(prompts[i], 16)) << i;
  }
  EXPECT_EQ(engine->num_slots_used(), 0);
}

TEST_F(StateReuseTest, EvictionKeepsTheCacheWithinItsBound) {
  const int64_t state_bytes = MakeEngine(1, {})->model().runner->state_bytes_per_sequence();
  // Room for about two entries.
  const int64_t bound = 2 * (state_bytes + 64 * 4 + PrefixStateCache::kEntryOverheadBytes) + 100;
  auto engine = MakeEngine(1, {.reuse = Reuse(bound)});
  for (int i = 0; i < 6; ++i) {
    const std::vector<int32_t> prompt = Tokens(20 + 3 * i, 400 + i);
    std::vector<int32_t> tokens;
    Run(*engine, Greedy(prompt, 6), &tokens);
    EXPECT_EQ(tokens, Reference(prompt, 6));
    EXPECT_LE(engine->reuse().prefix_cache_bytes(), bound);
  }
  EXPECT_LE(engine->reuse().prefix_cache_entries(), 2);
  // The most recent prompt's states are the ones kept.
  const std::vector<int32_t> last = Concat({Tokens(35, 405), Tokens(2, 499)});
  EXPECT_EQ(Run(*engine, Greedy(last, 4)).cached_prompt_tokens, 35);
}

TEST_F(StateReuseTest, FiveTurnSessionEqualsTheWholeHistoryAtOnce) {
  auto engine = MakeEngine(2, {.max_batch_tokens = 16, .reuse = Reuse()});
  std::vector<int32_t> history;
  for (int turn = 0; turn < 5; ++turn) {
    const std::vector<int32_t> said = Tokens(turn == 0 ? 20 : 6 + turn, 500 + turn);
    GenerationRequest request = Greedy(said, 8 + turn);
    request.session_id = "chat-1";
    request.resume_session = turn > 0;
    std::vector<int32_t> reply;
    RequestUpdate final = Run(*engine, request, &reply);
    history.insert(history.end(), said.begin(), said.end());
    EXPECT_EQ(reply, Reference(history, 8 + turn)) << "turn " << turn;
    EXPECT_EQ(final.prompt_tokens, static_cast<int32_t>(said.size()));
    history.insert(history.end(), reply.begin(), reply.end());
  }
  // An empty turn continues the reply where it stopped.
  GenerationRequest more = Greedy({}, 5);
  more.session_id = "chat-1";
  more.resume_session = true;
  std::vector<int32_t> reply;
  Run(*engine, more, &reply);
  EXPECT_EQ(reply, std::vector<int32_t>(Reference(history, 5)));
  EXPECT_EQ(engine->reuse().num_sessions(absl::Now()), 1);
  EXPECT_EQ(engine->num_slots_used(), 0);
}

TEST_F(StateReuseTest, StartingASessionAgainReplacesIt) {
  auto engine = MakeEngine(1, {.reuse = Reuse()});
  GenerationRequest first = Greedy(Tokens(10, 600), 4);
  first.session_id = "s";
  Run(*engine, first);
  const std::vector<int32_t> fresh = Tokens(12, 601);
  GenerationRequest second = Greedy(fresh, 4);
  second.session_id = "s";
  std::vector<int32_t> reply;
  Run(*engine, second, &reply);
  const std::vector<int32_t> turn = Tokens(5, 602);
  GenerationRequest third = Greedy(turn, 6);
  third.session_id = "s";
  third.resume_session = true;
  std::vector<int32_t> continued;
  Run(*engine, third, &continued);
  EXPECT_EQ(continued, Reference(Concat({fresh, reply, turn}), 6));
}

TEST_F(StateReuseTest, ExportOnOneEngineImportOnAnother) {
  auto a = MakeEngine(1, {.reuse = Reuse()});
  auto b = MakeEngine(1, {});  // no prefix cache, no sessions: import needs neither
  const std::vector<int32_t> prompt = Tokens(30, 700);
  GenerationRequest first = Greedy(prompt, 9);
  first.return_state = true;
  std::vector<int32_t> reply;
  RequestUpdate final = Run(*a, first, &reply);
  ASSERT_EQ(final.state.size(), kStateBlobHeaderBytes + a->model().runner->state_bytes_per_sequence());
  absl::StatusOr<SavedState> parsed = ParseState(a->reuse().identity(), final.state);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->num_tokens, 30 + 9 - 1);
  EXPECT_EQ(parsed->pending_token_id, reply.back());

  const std::vector<int32_t> turn = Tokens(7, 701);
  GenerationRequest second = Greedy(turn, 10);
  second.initial_state = final.state;
  second.return_state = true;
  std::vector<int32_t> continued;
  RequestUpdate second_final = Run(*b, second, &continued);
  EXPECT_EQ(continued, Reference(Concat({prompt, reply, turn}), 10));
  EXPECT_EQ(second_final.prompt_tokens, 7);
  EXPECT_EQ(ParseState(b->reuse().identity(), second_final.state)->num_tokens, 30 + 9 + 7 + 10 - 1);
  // An imported state can also start a session.
  GenerationRequest into_session = Greedy(turn, 3);
  into_session.initial_state = final.state;
  into_session.session_id = "moved";
  auto c = MakeEngine(1, {.reuse = Reuse()});
  std::vector<int32_t> moved;
  Run(*c, into_session, &moved);
  GenerationRequest resume = Greedy({}, 4);
  resume.session_id = "moved";
  resume.resume_session = true;
  std::vector<int32_t> resumed;
  Run(*c, resume, &resumed);
  EXPECT_EQ(Concat({moved, resumed}), Reference(Concat({prompt, reply, turn}), 7));
}

TEST_F(StateReuseTest, SessionsExpireAfterTheTtl) {
  StateReuseOptions reuse = Reuse();
  reuse.session_ttl = absl::Milliseconds(100);
  auto engine = MakeEngine(1, {.reuse = reuse});
  GenerationRequest start = Greedy(Tokens(8, 800), 3);
  start.session_id = "short";
  Run(*engine, start);
  GenerationRequest resume = Greedy(Tokens(2, 801), 3);
  resume.session_id = "short";
  resume.resume_session = true;
  Run(*engine, resume);  // within the TTL
  EXPECT_EQ(engine->reuse().num_sessions(absl::Now()), 1);
  absl::SleepFor(absl::Milliseconds(150));
  EXPECT_EQ(engine->reuse().num_sessions(absl::Now()), 0);
  absl::Status expired = engine->Submit(resume, std::make_shared<CollectingSink>()).status();
  EXPECT_EQ(expired.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(expired.message()), HasSubstr("unknown or expired"));
}

TEST_F(StateReuseTest, RefusalsComeFromSubmitBeforeAnyToken) {
  auto engine = MakeEngine(1, {.reuse = Reuse()});
  auto refuse = [&](GenerationRequest request) {
    auto sink = std::make_shared<CollectingSink>();
    absl::Status status = engine->Submit(std::move(request), sink).status();
    engine->Step();
    EXPECT_FALSE(sink->finished());
    EXPECT_TRUE(sink->token_ids().empty());
    return status;
  };
  auto expect = [](absl::Status status, absl::StatusCode code, const std::string& text) {
    EXPECT_EQ(status.code(), code) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(text));
  };
  GenerationRequest request = Greedy(Tokens(4, 900), 3);
  request.session_id = "never-started";
  request.resume_session = true;
  expect(refuse(request), absl::StatusCode::kNotFound, "\"never-started\" is unknown or expired");
  request.session_id = "";
  expect(refuse(request), absl::StatusCode::kInvalidArgument, "resume_session");
  request.session_id = std::string(300, 'x');
  expect(refuse(request), absl::StatusCode::kInvalidArgument, "session_id: 300 bytes");

  GenerationRequest exporter = Greedy(Tokens(6, 901), 3);
  exporter.return_state = true;
  const std::string blob = Run(*engine, exporter).state;
  GenerationRequest importer = Greedy(Tokens(2, 902), 3);
  importer.initial_state = blob;
  importer.session_id = "x";
  importer.resume_session = true;
  expect(refuse(importer), absl::StatusCode::kInvalidArgument, "initial_state and resume_session");
  importer.session_id = "";
  importer.resume_session = false;
  importer.initial_state = blob.substr(0, blob.size() - 1);
  expect(refuse(importer), absl::StatusCode::kInvalidArgument, "wrong size");
  importer.initial_state = blob;
  importer.initial_state[blob.size() / 2] ^= 0x20;
  expect(refuse(importer), absl::StatusCode::kInvalidArgument, "corrupt");
  importer.initial_state = "hello";
  expect(refuse(importer), absl::StatusCode::kInvalidArgument, "too short");

  // A state of another model (same shape, other weights).
  const std::filesystem::path other_dir = testing::MakeTempDir("reuse_other");
  ASSERT_TRUE(testing::WriteRandomCheckpoint(
      other_dir, {"--hidden-size", "64", "--num-layers", "2", "--num-heads", "2", "--vocab-size", "256",
                  "--seed", "22"}));
  auto other = MakeEngine(1, {}, &other_dir);
  importer.initial_state = blob;
  absl::Status foreign = other->Submit(importer, std::make_shared<CollectingSink>()).status();
  expect(foreign, absl::StatusCode::kInvalidArgument, "another model");

  // Sessions off.
  GenerationRequest with_session = Greedy(Tokens(4, 903), 3);
  with_session.session_id = "s";
  expect(other->Submit(with_session, std::make_shared<CollectingSink>()).status(),
         absl::StatusCode::kFailedPrecondition, "sessions are off");
  EXPECT_EQ(engine->num_slots_used(), 0);
  EXPECT_EQ(engine->num_waiting(), 0);
}

TEST_F(StateReuseTest, OneRequestPerSessionAndNothingLeftHeld) {
  auto engine = MakeEngine(1, {.max_waiting = 0, .reuse = Reuse()});
  GenerationRequest start = Greedy(Tokens(6, 1000), 50);
  start.session_id = "busy";
  auto first = std::make_shared<CollectingSink>();
  absl::StatusOr<std::shared_ptr<RequestHandle>> handle = engine->Submit(start, first);
  ASSERT_TRUE(handle.ok());
  engine->Step();
  GenerationRequest again = Greedy(Tokens(2, 1001), 3);
  again.session_id = "busy";
  EXPECT_EQ(engine->Submit(again, std::make_shared<CollectingSink>()).status().code(), absl::StatusCode::kAborted);
  // Refused for a full queue after the session was taken: the session is let go.
  GenerationRequest other = Greedy(Tokens(2, 1002), 3);
  other.session_id = "other";
  EXPECT_EQ(engine->Submit(other, std::make_shared<CollectingSink>()).status().code(),
            absl::StatusCode::kResourceExhausted);
  // A cancelled turn keeps nothing: the session was never stored, and the slot is free.
  (*handle)->Cancel();
  RunUntilDone(*engine, {first});
  EXPECT_EQ(first->final_update().status.code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(first->final_update().state.empty());
  EXPECT_EQ(engine->num_slots_used(), 0);
  again.resume_session = true;
  EXPECT_EQ(engine->Submit(again, std::make_shared<CollectingSink>()).status().code(), absl::StatusCode::kNotFound);
  // Both ids are free again.
  again.resume_session = false;
  auto sink = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->Submit(again, sink).ok());
  RunUntilDone(*engine, {sink});
  ASSERT_TRUE(engine->Submit(other, std::make_shared<CollectingSink>()).ok());
}

TEST_F(StateReuseTest, StopEndsHeldSessionsWithoutKeepingThem) {
  auto engine = MakeEngine(1, {.reuse = Reuse()});
  GenerationRequest start = Greedy(Tokens(6, 1100), 1000);
  start.session_id = "cut";
  auto sink = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->Submit(start, sink).ok());
  engine->Step();
  engine->Stop();
  EXPECT_EQ(sink->final_update().status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(engine->reuse().num_sessions(absl::Now()), 0);
}

}  // namespace
}  // namespace glaserve
