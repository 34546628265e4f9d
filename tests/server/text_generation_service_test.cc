// The gRPC service in-process over a real loopback socket: streaming, batching
// independence, cancellation, deadlines, validation, queue limits, auth, unary calls,
// sessions and state export/import.
#include "server/text_generation_service.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"
#include "tests/testing/test_checkpoint.h"
#include "tests/testing/test_tokenizer.h"

namespace glaserve {
namespace {

using ::glaserve::testing::ReadStream;
using ::glaserve::testing::StreamResult;
using ::glaserve::testing::TestServer;
using ::testing::HasSubstr;

class ServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(testing::MakeTempDir("service_model"));
    ASSERT_TRUE(testing::WriteRandomCheckpoint(
        *dir_, {"--hidden-size", "64", "--num-layers", "2", "--num-heads", "2", "--vocab-size",
                std::to_string(testing::kTestTokenizerVocabSize), "--seed", "31"}));
    testing::CopyTestTokenizer(*dir_);
  }

  static v1::GenerateRequest Greedy(std::vector<int32_t> ids, int max_tokens) {
    v1::GenerateRequest request;
    request.mutable_prompt_token_ids()->Assign(ids.begin(), ids.end());
    request.mutable_sampling()->set_temperature(0);
    request.mutable_sampling()->set_max_tokens(max_tokens);
    request.mutable_sampling()->set_ignore_eos(true);
    return request;
  }

  static v1::GetModelInfoResponse Info(v1::TextGeneration::Stub& stub) {
    grpc::ClientContext context;
    v1::GetModelInfoResponse info;
    EXPECT_TRUE(stub.GetModelInfo(&context, {}, &info).ok());
    return info;
  }

  // Polls until the server reports no slot in use (slots are freed at the next step).
  static bool WaitSlotsFree(v1::TextGeneration::Stub& stub) {
    for (int i = 0; i < 200; ++i) {
      if (Info(stub).slots_in_use() == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }

  static std::filesystem::path* dir_;
};
std::filesystem::path* ServiceTest::dir_ = nullptr;

TEST_F(ServiceTest, StreamsEveryTokenInOrderThenFinishes) {
  TestServer server(*dir_, 4);
  auto stub = server.NewStub();
  v1::GenerateRequest request;
  request.set_prompt("The quick brown fox");
  request.set_request_id("my-request");
  request.mutable_sampling()->set_max_tokens(24);
  request.mutable_sampling()->set_seed(7);
  request.mutable_sampling()->set_ignore_eos(true);
  request.mutable_sampling()->set_logprobs(2);
  StreamResult result = ReadStream(*stub, request);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_EQ(result.token_ids.size(), 24u);
  // The streamed text is exactly the continuation of the prompt by the streamed ids.
  const Tokenizer& tokenizer = testing::TestTokenizer();
  std::vector<int32_t> all = tokenizer.Encode("The quick brown fox");
  const size_t prompt_size = all.size();
  all.insert(all.end(), result.token_ids.begin(), result.token_ids.end());
  EXPECT_EQ(tokenizer.Decode(all).substr(tokenizer.Decode(std::span(all).first(prompt_size)).size()), result.text);
  for (size_t i = 0; i < result.responses.size(); ++i) {
    const v1::GenerateResponse& r = result.responses[i];
    EXPECT_EQ(r.request_id(), "my-request");
    EXPECT_EQ(r.logprobs_size(), r.token_ids_size());
    for (const auto& lp : r.logprobs()) EXPECT_EQ(lp.top_size(), 2);
    const bool last = i + 1 == result.responses.size();
    EXPECT_EQ(r.finish_reason(), last ? v1::FINISH_REASON_LENGTH : v1::FINISH_REASON_UNSPECIFIED);
    EXPECT_EQ(r.has_usage(), last);
  }
  EXPECT_EQ(result.responses.back().usage().prompt_tokens(), static_cast<int>(prompt_size));
  EXPECT_EQ(result.responses.back().usage().completion_tokens(), 24);
  // Same seed, same output.
  EXPECT_EQ(ReadStream(*stub, request).token_ids, result.token_ids);
}

TEST_F(ServiceTest, ConcurrentGreedyRequestsMatchTheirSoloRuns) {
  TestServer server(*dir_, 32, {.max_batch_tokens = 256});
  auto stub = server.NewStub();
  const int n = 32;
  std::vector<v1::GenerateRequest> requests;
  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> ids;
    for (int t = 0; t < 3 + 7 * i; ++t) ids.push_back(3 + (i * 131 + t * 17) % 500);
    requests.push_back(Greedy(ids, 16));
  }
  std::vector<std::vector<int32_t>> solo;
  for (const auto& request : requests) solo.push_back(ReadStream(*stub, request).token_ids);
  std::vector<StreamResult> together(n);
  std::vector<std::thread> clients;
  for (int i = 0; i < n; ++i) {
    clients.emplace_back([&, i] { together[i] = ReadStream(*stub, requests[i]); });
  }
  for (auto& client : clients) client.join();
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(together[i].status.ok()) << together[i].status.error_message();
    EXPECT_EQ(together[i].token_ids, solo[i]) << "request " << i;
    EXPECT_EQ(together[i].token_ids.size(), 16u);
  }
}

TEST_F(ServiceTest, CancellationMidStreamFreesTheSlot) {
  TestServer server(*dir_, 2);
  auto stub = server.NewStub();
  grpc::ClientContext context;
  auto reader = stub->Generate(&context, Greedy({5, 6, 7}, 100000));
  v1::GenerateResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(Info(*stub).slots_in_use(), 1);
  context.TryCancel();
  while (reader->Read(&response)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitSlotsFree(*stub));
}

TEST_F(ServiceTest, DeadlineEndsTheStreamAndFreesTheSlot) {
  TestServer server(*dir_, 2);
  auto stub = server.NewStub();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  StreamResult result = ReadStream(*stub, Greedy({5, 6, 7}, 100000), &context);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_FALSE(result.token_ids.empty());
  EXPECT_TRUE(WaitSlotsFree(*stub));
}

TEST_F(ServiceTest, BadInputIsInvalidArgumentNamingTheField) {
  TestServer server(*dir_, 1, {.max_prompt_tokens = 100});
  auto stub = server.NewStub();
  struct Case {
    std::function<void(v1::GenerateRequest&)> edit;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](auto& r) { r.clear_prompt_token_ids(); r.set_prompt(""); }, "prompt"},
      {[](auto& r) { r.clear_prompt_token_ids(); }, "neither prompt nor prompt_token_ids"},
      {[](auto& r) { r.set_prompt("hello"); }, "both set"},
      {[](auto& r) { r.set_prompt_token_ids(1, 512); }, "prompt_token_ids[1]=512"},
      {[](auto& r) { r.set_prompt_token_ids(0, -1); }, "prompt_token_ids[0]=-1"},
      {[](auto& r) { for (int i = 0; i < 101; ++i) r.add_prompt_token_ids(5); }, "limit of 100"},
      {[](auto& r) { r.mutable_sampling()->set_max_tokens(0); }, "max_tokens"},
      {[](auto& r) { r.mutable_sampling()->set_temperature(-1); }, "temperature"},
      {[](auto& r) { r.mutable_sampling()->set_top_p(0); }, "top_p"},
      {[](auto& r) { r.mutable_sampling()->set_top_k(-5); }, "top_k"},
      {[](auto& r) { r.mutable_sampling()->set_min_p(2); }, "min_p"},
      {[](auto& r) { r.mutable_sampling()->set_repetition_penalty(0); }, "repetition_penalty"},
      {[](auto& r) { r.mutable_sampling()->set_presence_penalty(3); }, "presence_penalty"},
      {[](auto& r) { r.mutable_sampling()->set_frequency_penalty(-3); }, "frequency_penalty"},
      {[](auto& r) { r.mutable_sampling()->set_min_tokens(50); }, "min_tokens"},
      {[](auto& r) { r.mutable_sampling()->add_stop(""); }, "stop"},
      {[](auto& r) { r.mutable_sampling()->add_stop_token_ids(9999); }, "stop_token_ids"},
      {[](auto& r) { r.mutable_sampling()->set_logprobs(21); }, "logprobs"},
  };
  for (const Case& c : cases) {
    v1::GenerateRequest request = Greedy({5, 6, 7}, 10);
    c.edit(request);
    StreamResult result = ReadStream(*stub, request);
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(result.status.error_message(), HasSubstr(c.field));
    EXPECT_TRUE(result.responses.empty());
  }
  EXPECT_EQ(Info(*stub).slots_in_use(), 0);
  EXPECT_EQ(Info(*stub).requests_waiting(), 0);
}

TEST_F(ServiceTest, FullQueueIsResourceExhausted) {
  TestServer server(*dir_, 1, {.max_waiting = 1});
  auto stub = server.NewStub();
  grpc::ClientContext running_context, waiting_context;
  auto running = stub->Generate(&running_context, Greedy({5}, 100000));
  v1::GenerateResponse response;
  ASSERT_TRUE(running->Read(&response));
  auto waiting = stub->Generate(&waiting_context, Greedy({6}, 10));
  for (int i = 0; i < 200 && Info(*stub).requests_waiting() != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  StreamResult refused = ReadStream(*stub, Greedy({7}, 10));
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.status.error_message(), HasSubstr("max-waiting"));
  running_context.TryCancel();
  while (running->Read(&response)) {
  }
  running->Finish();
  // The waiting request now runs to completion.
  int tokens = 0;
  while (waiting->Read(&response)) tokens += response.token_ids_size();
  EXPECT_TRUE(waiting->Finish().ok());
  EXPECT_EQ(tokens, 10);
}

TEST_F(ServiceTest, AuthTokenIsRequiredWhenConfigured) {
  TestServer server(*dir_, 1, {}, std::string("s3cret"));
  auto stub = server.NewStub();
  EXPECT_EQ(ReadStream(*stub, Greedy({5}, 3)).status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext wrong;
  wrong.AddMetadata("authorization", "Bearer nope");
  EXPECT_EQ(ReadStream(*stub, Greedy({5}, 3), &wrong).status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext info_context;
  v1::GetModelInfoResponse info;
  EXPECT_EQ(stub->GetModelInfo(&info_context, {}, &info).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext right;
  right.AddMetadata("authorization", "Bearer s3cret");
  StreamResult ok = ReadStream(*stub, Greedy({5}, 3), &right);
  EXPECT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_EQ(ok.token_ids.size(), 3u);
}

TEST_F(ServiceTest, NoAuthWhenNotConfigured) {
  TestServer server(*dir_, 1);
  auto stub = server.NewStub();
  EXPECT_TRUE(ReadStream(*stub, Greedy({5}, 3)).status.ok());
}

TEST_F(ServiceTest, TokenizeBothWays) {
  TestServer server(*dir_, 1);
  auto stub = server.NewStub();
  grpc::ClientContext encode_context;
  v1::TokenizeRequest encode;
  encode.set_text("Hello world 🦀");
  v1::TokenizeResponse encoded;
  ASSERT_TRUE(stub->Tokenize(&encode_context, encode, &encoded).ok());
  EXPECT_EQ(std::vector<int32_t>(encoded.token_ids().begin(), encoded.token_ids().end()),
            testing::TestTokenizer().EncodeWithoutBos("Hello world 🦀"));
  grpc::ClientContext decode_context;
  v1::TokenizeRequest decode;
  *decode.mutable_token_ids() = encoded.token_ids();
  v1::TokenizeResponse decoded;
  ASSERT_TRUE(stub->Tokenize(&decode_context, decode, &decoded).ok());
  EXPECT_EQ(decoded.text(), "Hello world 🦀");
  grpc::ClientContext bad_context;
  v1::TokenizeRequest bad;
  bad.add_token_ids(100000);
  EXPECT_EQ(stub->Tokenize(&bad_context, bad, &decoded).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServiceTest, ModelInfoDescribesModelAndCapacity) {
  TestServer server(*dir_, 3);
  auto stub = server.NewStub();
  v1::GetModelInfoResponse info = Info(*stub);
  EXPECT_EQ(info.model_name(), "service_model");
  EXPECT_EQ(info.vocab_size(), testing::kTestTokenizerVocabSize);
  EXPECT_EQ(info.config().hidden_size(), 64);
  EXPECT_EQ(info.config().num_heads(), 2);
  EXPECT_EQ(info.slots_total(), 3);
  EXPECT_EQ(info.slots_in_use(), 0);
  EXPECT_EQ(info.state_bytes_per_sequence(), 2 * 2 * 16 * 32 * 4);  // L * H_kv * dk * dv * fp32
  EXPECT_EQ(info.backend(), "cpu");
  EXPECT_TRUE(info.has_tokenizer());
}


// Continuation over gRPC: a session turn's text gets no BOS, and the reply equals greedy
// generation from the whole history sent as ids.
StateReuseOptions ReuseForTests() {
  return {.prefix_cache_bytes = 16 << 20,
          .prefix_cache_chunk_tokens = 8,
          .prefix_cache_min_tokens = 4,
          .session_bytes = 16 << 20,
          .session_ttl = absl::Minutes(5)};
}

TEST_F(ServiceTest, SessionTurnsEqualTheWholeHistory) {
  TestServer server(*dir_, 2, {.reuse = ReuseForTests()});
  auto stub = server.NewStub();
  const Tokenizer& tokenizer = testing::TestTokenizer();
  v1::GenerateRequest first = Greedy({}, 10);
  first.clear_prompt_token_ids();
  first.set_prompt("The quick brown fox");
  first.set_session_id("conversation");
  StreamResult one = ReadStream(*stub, first);
  ASSERT_TRUE(one.status.ok()) << one.status.error_message();
  v1::GenerateRequest second = first;
  second.set_prompt(" jumps over the lazy dog");
  second.set_resume_session(true);
  StreamResult two = ReadStream(*stub, second);
  ASSERT_TRUE(two.status.ok()) << two.status.error_message();
  const std::vector<int32_t> turn = tokenizer.EncodeWithoutBos(" jumps over the lazy dog");
  EXPECT_EQ(two.responses.back().usage().prompt_tokens(), static_cast<int32_t>(turn.size()));

  std::vector<int32_t> history = tokenizer.Encode("The quick brown fox");
  history.insert(history.end(), one.token_ids.begin(), one.token_ids.end());
  history.insert(history.end(), turn.begin(), turn.end());
  StreamResult whole = ReadStream(*stub, Greedy(history, 10));
  ASSERT_TRUE(whole.status.ok());
  EXPECT_EQ(two.token_ids, whole.token_ids);
  // The whole history sent again starts from the state the first prompt left behind.
  EXPECT_GT(whole.responses.back().usage().cached_prompt_tokens(), 0);
  EXPECT_TRUE(WaitSlotsFree(*stub));
}

TEST_F(ServiceTest, ExportedStateContinuesOnAnotherServer) {
  TestServer a(*dir_, 1), b(*dir_, 1);  // neither keeps sessions or prefixes
  auto stub_a = a.NewStub(), stub_b = b.NewStub();
  const std::vector<int32_t> prompt = {5, 80, 17, 300, 42, 9};
  v1::GenerateRequest first = Greedy(prompt, 7);
  first.set_return_state(true);
  StreamResult one = ReadStream(*stub_a, first);
  ASSERT_TRUE(one.status.ok()) << one.status.error_message();
  for (size_t i = 0; i + 1 < one.responses.size(); ++i) EXPECT_TRUE(one.responses[i].state().empty());
  const std::string state = one.responses.back().state();
  EXPECT_EQ(state.size(), 80 + Info(*stub_a).state_bytes_per_sequence());

  v1::GenerateRequest second = Greedy({7, 7, 100}, 9);
  second.set_initial_state(state);
  StreamResult two = ReadStream(*stub_b, second);
  ASSERT_TRUE(two.status.ok()) << two.status.error_message();
  EXPECT_TRUE(two.responses.back().state().empty());  // not asked for
  std::vector<int32_t> history = prompt;
  history.insert(history.end(), one.token_ids.begin(), one.token_ids.end());
  history.insert(history.end(), {7, 7, 100});
  EXPECT_EQ(two.token_ids, ReadStream(*stub_a, Greedy(history, 9)).token_ids);
}

TEST_F(ServiceTest, ContinuationRefusalsComeBeforeAnyResponse) {
  TestServer with_sessions(*dir_, 1, {.reuse = ReuseForTests()}), without(*dir_, 1);
  auto stub = with_sessions.NewStub(), plain = without.NewStub();
  auto expect = [](const StreamResult& result, grpc::StatusCode code, const std::string& text) {
    EXPECT_EQ(result.status.error_code(), code) << result.status.error_message();
    EXPECT_THAT(result.status.error_message(), HasSubstr(text));
    EXPECT_TRUE(result.responses.empty());
  };
  v1::GenerateRequest resume = Greedy({4, 5}, 3);
  resume.set_session_id("nobody");
  resume.set_resume_session(true);
  expect(ReadStream(*stub, resume), grpc::StatusCode::NOT_FOUND, "unknown or expired");
  expect(ReadStream(*plain, resume), grpc::StatusCode::FAILED_PRECONDITION, "sessions are off");
  v1::GenerateRequest bad_state = Greedy({4, 5}, 3);
  bad_state.set_initial_state(std::string(500, 'z'));
  expect(ReadStream(*stub, bad_state), grpc::StatusCode::INVALID_ARGUMENT, "initial_state: not a glaserve state");
  v1::GenerateRequest nothing;  // no prompt and nothing to continue
  expect(ReadStream(*stub, nothing), grpc::StatusCode::INVALID_ARGUMENT, "prompt");
  EXPECT_TRUE(WaitSlotsFree(*stub));
}

}  // namespace
}  // namespace glaserve
