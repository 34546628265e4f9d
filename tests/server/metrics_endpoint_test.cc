// /metrics of a real `glaserve serve` process after real traffic: the counters equal what
// the clients received, promtool accepts the exposition, and a real Prometheus scrapes it.
#include <cstdio>
#include <sstream>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/server/test_server.h"
#include "tests/testing/prometheus_process.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_checkpoint.h"
#include "tests/testing/test_tokenizer.h"

namespace glaserve {
namespace {

using ::glaserve::testing::ReadStream;
using ::glaserve::testing::ServerProcess;

// The value of the sample whose name-and-labels part is exactly `series`, or -1.
double SampleValue(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

class MetricsEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("metrics_model");
    ASSERT_TRUE(testing::WriteRandomCheckpoint(
        dir_, {"--hidden-size", "64", "--num-layers", "2", "--num-heads", "2", "--vocab-size",
               std::to_string(testing::kTestTokenizerVocabSize), "--seed", "51"}));
    testing::CopyTestTokenizer(dir_);
    server_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{"--model", dir_.string(), "--max-seqs", "3", "--metrics-port", "0"});
    ASSERT_NE(server_->port(), 0);
    ASSERT_NE(server_->metrics_port(), 0);
  }

  // Runs requests with known sizes; returns (prompt tokens, generated tokens) received.
  std::pair<int, int> SendTraffic(int num_ok, int num_invalid) {
    auto stub = v1::TextGeneration::NewStub(grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
    int prompt_tokens = 0, generated = 0;
    for (int i = 0; i < num_ok; ++i) {
      v1::GenerateRequest request;
      for (int t = 0; t < 4 + 3 * i; ++t) request.add_prompt_token_ids(10 + t);
      request.mutable_sampling()->set_max_tokens(5 + 2 * i);
      request.mutable_sampling()->set_ignore_eos(true);
      testing::StreamResult result = ReadStream(*stub, request);
      EXPECT_TRUE(result.status.ok()) << result.status.error_message();
      prompt_tokens += result.responses.back().usage().prompt_tokens();
      generated += result.token_ids.size();
    }
    for (int i = 0; i < num_invalid; ++i) {
      v1::GenerateRequest bad;
      bad.add_prompt_token_ids(1);
      bad.mutable_sampling()->set_top_p(7);
      EXPECT_EQ(ReadStream(*stub, bad).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    }
    return {prompt_tokens, generated};
  }

  std::string Scrape() {
    httplib::Client client("127.0.0.1", server_->metrics_port());
    httplib::Result response = client.Get("/metrics");
    EXPECT_TRUE(response && response->status == 200);
    return response ? response->body : "";
  }

  std::filesystem::path dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(MetricsEndpointTest, CountersEqualWhatClientsReceived) {
  auto [prompt_tokens, generated] = SendTraffic(/*num_ok=*/5, /*num_invalid=*/2);
  ASSERT_EQ(generated, 5 + 7 + 9 + 11 + 13);
  // The final update reaches the metrics before the client sees the stream end, but give
  // the engine thread a moment anyway on a loaded machine.
  std::string text;
  for (int i = 0; i < 50; ++i) {
    text = Scrape();
    if (SampleValue(text, R"(glaserve_requests_total{status="OK",finish_reason="length"})") == 5) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(SampleValue(text, R"(glaserve_requests_total{status="OK",finish_reason="length"})"), 5);
  EXPECT_EQ(SampleValue(text, R"(glaserve_requests_total{status="INVALID_ARGUMENT",finish_reason="none"})"), 2);
  EXPECT_EQ(SampleValue(text, "glaserve_generation_tokens_total"), generated);
  EXPECT_EQ(SampleValue(text, "glaserve_prompt_tokens_total"), prompt_tokens);
  EXPECT_EQ(SampleValue(text, "glaserve_e2e_request_latency_seconds_count"), 5);
  EXPECT_EQ(SampleValue(text, "glaserve_time_to_first_token_seconds_count"), 5);
  EXPECT_EQ(SampleValue(text, "glaserve_request_generation_tokens_sum"), generated);
  // Every token after the first of each stream has an inter-token gap.
  EXPECT_EQ(SampleValue(text, "glaserve_inter_token_latency_seconds_count"), generated - 5);
  EXPECT_EQ(SampleValue(text, "glaserve_state_slots_capacity"), 3);
  EXPECT_EQ(SampleValue(text, "glaserve_state_slots_used"), 0);
  EXPECT_EQ(SampleValue(text, "glaserve_requests_running"), 0);
  EXPECT_EQ(SampleValue(text, "glaserve_state_bytes_per_sequence"), 2 * 2 * 16 * 32 * 4);
  EXPECT_EQ(SampleValue(text, R"(glaserve_model_info{model="metrics_model",backend="cpu",state_dtype="fp32"})"), 1);
  EXPECT_GT(SampleValue(text, R"(glaserve_step_duration_seconds_count{phase="decode"})"), 0);
}

TEST(PrefixCacheMetricsTest, CountHitsSavedTokensAndSessions) {
  const std::filesystem::path dir = testing::MakeTempDir("cache_metrics_model");
  ASSERT_TRUE(testing::WriteRandomCheckpoint(
      dir, {"--hidden-size", "64", "--num-layers", "2", "--num-heads", "2", "--vocab-size", "300", "--seed", "52"}));
  ServerProcess server({"--model", dir.string(), "--max-seqs", "2", "--metrics-port", "0",
                        "--prefix-cache-min-tokens", "4", "--prefix-cache-chunk-tokens", "8"});
  ASSERT_NE(server.metrics_port(), 0);
  auto stub = v1::TextGeneration::NewStub(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
  int cached = 0;
  for (int i = 0; i < 4; ++i) {
    v1::GenerateRequest request;
    for (int t = 0; t < 20; ++t) request.add_prompt_token_ids(30 + t);  // shared
    request.add_prompt_token_ids(100 + i);
    request.mutable_sampling()->set_max_tokens(3);
    if (i == 0) request.set_session_id("metrics-session");
    testing::StreamResult result = ReadStream(*stub, request);
    ASSERT_TRUE(result.status.ok()) << result.status.error_message();
    cached += result.responses.back().usage().cached_prompt_tokens();
  }
  EXPECT_GT(cached, 0);
  httplib::Client client("127.0.0.1", server.metrics_port());
  std::string text;
  for (int i = 0; i < 100; ++i) {  // the last request's counters land after its final response
    httplib::Result response = client.Get("/metrics");
    ASSERT_TRUE(response && response->status == 200);
    text = response->body;
    if (SampleValue(text, "glaserve_prefix_cache_hits_total") + SampleValue(text, "glaserve_prefix_cache_misses_total") == 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(SampleValue(text, "glaserve_prefix_cache_misses_total"), 1);
  EXPECT_EQ(SampleValue(text, "glaserve_prefix_cache_hits_total"), 3);
  EXPECT_EQ(SampleValue(text, "glaserve_prefix_cache_tokens_saved_total"), cached);
  EXPECT_GT(SampleValue(text, "glaserve_prefix_cache_bytes"), 0);
  EXPECT_GT(SampleValue(text, "glaserve_prefix_cache_entries"), 0);
  EXPECT_EQ(SampleValue(text, "glaserve_prefix_cache_capacity_bytes"), 1 << 30);
  EXPECT_EQ(SampleValue(text, "glaserve_sessions_live"), 1);
  EXPECT_GT(SampleValue(text, "glaserve_session_bytes"), 0);
}

TEST_F(MetricsEndpointTest, PromtoolAcceptsTheLiveExposition) {
  SendTraffic(3, 1);
  const std::string text = Scrape();
  ASSERT_FALSE(text.empty());
  const auto path = testing::MakeTempDir("promtool") / "metrics.txt";
  testing::WriteFile(path, text);
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/promtool")) << "install Debian's prometheus package";
  const std::string command = "/usr/bin/promtool check metrics < " + path.string() + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buffer[256];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
  EXPECT_EQ(pclose(pipe), 0) << out;
  EXPECT_EQ(out, "") << "promtool complained";
}

TEST_F(MetricsEndpointTest, RealPrometheusScrapesGlaserve) {
  auto [prompt_tokens, generated] = SendTraffic(2, 0);
  testing::PrometheusProcess prometheus({"127.0.0.1:" + std::to_string(server_->metrics_port())});
  ASSERT_TRUE(prometheus.WaitReady()) << prometheus.Log();
  std::map<std::string, std::string> requests, tokens, slots;
  for (int i = 0; i < 120; ++i) {
    requests = prometheus.Query("glaserve_requests_total", "finish_reason");
    tokens = prometheus.Query("glaserve_generation_tokens_total", "job");
    slots = prometheus.Query("glaserve_state_slots_capacity", "job");
    if (requests["length"] == "2" && !tokens.empty() && !slots.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_EQ(requests["length"], "2") << prometheus.Log();
  EXPECT_EQ(tokens["glaserve"], std::to_string(generated));
  EXPECT_EQ(slots["glaserve"], "3");
}

}  // namespace
}  // namespace glaserve
