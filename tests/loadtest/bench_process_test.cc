// The real glaserve-bench binary against a real `glaserve serve` on loopback (a small
// random checkpoint with the test tokenizer): what the JSON report says is checked
// against what was asked for, and failures are provoked to see them counted by status.
#include <grpcpp/grpcpp.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "glaserve/v1/glaserve.grpc.pb.h"
#include "gtest/gtest.h"
#include "loadtest/prompt_text_builder.h"
#include "loadtest/prompt_tokenizer.h"
#include "nlohmann/json.hpp"
#include "tests/testing/server_process.h"
#include "tests/testing/test_checkpoint.h"
#include "tests/testing/test_tokenizer.h"

namespace glaserve::loadtest {
namespace {

using ::glaserve::testing::ServerProcess;
using Json = nlohmann::json;

struct BenchRun {
  int exit_code = -1;
  std::string out;  // stdout: the tables
  std::string err;
  Json report;  // empty when no report was written
};

// Runs build/bin/glaserve-bench with `args` plus --report, and reads what it wrote.
BenchRun RunBench(const std::vector<std::string>& args) {
  static int run_number = 0;
  const std::filesystem::path dir = testing::MakeTempDir(absl::StrCat("bench_run_", run_number++));
  std::string command = testing::BinDir() + "/glaserve-bench";
  for (const std::string& arg : args) absl::StrAppend(&command, " '", arg, "'");
  absl::StrAppend(&command, " --report '", (dir / "report.json").string(), "' > '", (dir / "out").string(), "' 2> '",
                  (dir / "err").string(), "'");
  const int status = std::system(command.c_str());
  BenchRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = testing::ReadFile(dir / "out");
  run.err = testing::ReadFile(dir / "err");
  const std::string report = testing::ReadFile(dir / "report.json");
  if (!report.empty()) run.report = Json::parse(report);
  return run;
}

// p50 <= p90 <= p99 <= max, and min <= mean <= max, for a latency object of the report.
void ExpectOrdered(const Json& s, const std::string& name) {
  SCOPED_TRACE(name);
  ASSERT_TRUE(s.is_object());
  for (const char* field : {"mean", "min", "p50", "p90", "p99", "max", "count"})
    ASSERT_TRUE(s.contains(field)) << field;
  EXPECT_GT(s["count"].get<int64_t>(), 0);
  EXPECT_GE(s["min"].get<double>(), 0);
  EXPECT_LE(s["min"].get<double>(), s["p50"].get<double>());
  EXPECT_LE(s["p50"].get<double>(), s["p90"].get<double>());
  EXPECT_LE(s["p90"].get<double>(), s["p99"].get<double>());
  EXPECT_LE(s["p99"].get<double>(), s["max"].get<double>());
  EXPECT_LE(s["min"].get<double>(), s["mean"].get<double>());
  EXPECT_LE(s["mean"].get<double>(), s["max"].get<double>());
}

class BenchProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_dir_ = new std::filesystem::path(testing::MakeTempDir("bench_model"));
    ASSERT_TRUE(testing::WriteRandomCheckpoint(
        *model_dir_, {"--hidden-size", "64", "--num-layers", "2", "--num-heads", "2", "--vocab-size",
                      std::to_string(testing::kTestTokenizerVocabSize), "--seed", "43"}));
    testing::CopyTestTokenizer(*model_dir_);
    server_ = new ServerProcess({"--model", model_dir_->string(), "--max-seqs", "4"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_->port(), 0) << "glaserve serve did not start"; }

  static std::string Target() { return server_->address(); }

  static std::filesystem::path* model_dir_;
  static ServerProcess* server_;
};
std::filesystem::path* BenchProcessTest::model_dir_ = nullptr;
ServerProcess* BenchProcessTest::server_ = nullptr;

TEST_F(BenchProcessTest, ClosedLoopReportCountsWhatWasSent) {
  const BenchRun run = RunBench({"--target", Target(), "--concurrency", "2", "--num-requests", "6", "--prompt-tokens",
                                 "24", "--output-tokens", "8", "--warmup-requests", "2", "--seed", "1"});
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  const Json& r = run.report;
  EXPECT_EQ(r["requests_sent"], 6);  // the warm-up is not counted
  EXPECT_EQ(r["requests_completed"], 6);
  EXPECT_EQ(r["requests_failed"], 0);
  EXPECT_TRUE(r["errors_by_status"].empty()) << r["errors_by_status"];
  EXPECT_TRUE(r["validation_errors"].empty()) << r["validation_errors"];
  EXPECT_EQ(r["output_tokens"], 6 * 8);
  EXPECT_EQ(r["prompt_tokens"], 6 * 24);
  for (const char* name : {"ttft_seconds", "itl_seconds", "tpot_seconds", "e2e_seconds"}) ExpectOrdered(r[name], name);
  EXPECT_EQ(r["itl_seconds"]["count"], 6 * 7);  // every gap between tokens
  EXPECT_EQ(r["ttft_seconds"]["count"], 6);
  const double duration = r["duration_seconds"];
  EXPECT_GT(duration, 0);
  EXPECT_NEAR(r["output_tokens_per_second"].get<double>(), 48 / duration, 1e-6 * 48 / duration);
  EXPECT_LE(r["e2e_seconds"]["max"].get<double>(), duration);
  ASSERT_EQ(r["levels"].size(), 1u);
  EXPECT_EQ(r["levels"][0]["name"], "concurrency=2");
  EXPECT_EQ(r["levels"][0]["load"], "closed");
  EXPECT_EQ(r["model"]["vocab_size"], testing::kTestTokenizerVocabSize);
  ASSERT_EQ(r["itl_vs_prompt_tokens"].size(), 1u);
  EXPECT_EQ(r["itl_vs_prompt_tokens"][0]["prompt_tokens_min"], 24);
  EXPECT_EQ(r["itl_vs_prompt_tokens"][0]["count"], 6 * 7);
  EXPECT_FALSE(r["itl_vs_position"].empty());
  EXPECT_NE(run.out.find("concurrency=2"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("ITL vs context position"), std::string::npos) << run.out;
}

TEST_F(BenchProcessTest, SweepRunsEveryLevel) {
  const BenchRun run = RunBench({"--target", Target(), "--concurrency", "1,3", "--num-requests", "3", "--prompt-tokens",
                                 "16", "--output-tokens", "4"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Json& r = run.report;
  ASSERT_EQ(r["levels"].size(), 2u);
  EXPECT_EQ(r["levels"][0]["name"], "concurrency=1");
  EXPECT_EQ(r["levels"][1]["name"], "concurrency=3");
  for (const Json& level : r["levels"]) {
    EXPECT_EQ(level["requests_sent"], 3);
    EXPECT_EQ(level["requests_completed"], 3);
  }
  EXPECT_EQ(r["requests_completed"], 6);
  EXPECT_NEAR(r["duration_seconds"].get<double>(),
              r["levels"][0]["duration_seconds"].get<double>() + r["levels"][1]["duration_seconds"].get<double>(),
              1e-9);
}

TEST_F(BenchProcessTest, OpenLoopSendsAtTheRequestedRate) {
  const BenchRun run = RunBench({"--target", Target(), "--rate", "20", "--num-requests", "40", "--prompt-tokens", "8",
                                 "--output-tokens", "2", "--seed", "3"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Json& level = run.report["levels"][0];
  EXPECT_EQ(level["load"], "open");
  EXPECT_EQ(level["requests_completed"], 40);
  const double requested = level["request_rate_requested"];
  const double scheduled = level["request_rate_scheduled"];
  const double achieved = level["request_rate_achieved"];
  EXPECT_EQ(requested, 20);
  // 39 Poisson gaps: the drawn rate is within 35% of the requested one (about 2 sigma;
  // the seed is fixed, so this does not flake), and the client kept to its schedule.
  EXPECT_NEAR(scheduled, requested, 0.35 * requested);
  EXPECT_NEAR(achieved, scheduled, 0.1 * scheduled);
  EXPECT_LT(level["max_send_lag_seconds"].get<double>(), 0.2);
}

TEST_F(BenchProcessTest, OpenLoopForADuration) {
  const BenchRun run = RunBench({"--target", Target(), "--rate", "10", "--duration", "2", "--prompt-tokens", "8",
                                 "--output-tokens", "2", "--seed", "4"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Json& r = run.report;
  // 2 s at 10/s: 20 expected, Poisson standard deviation 4.5.
  EXPECT_GE(r["requests_sent"].get<int>(), 11);
  EXPECT_LE(r["requests_sent"].get<int>(), 29);
  EXPECT_EQ(r["requests_completed"], r["requests_sent"]);
}

TEST_F(BenchProcessTest, TextPromptsHaveExactTokenLengths) {
  // The builder against the server's own tokenizer, checked with Tokenize.
  auto channel = grpc::CreateChannel(Target(), grpc::InsecureChannelCredentials());
  RpcPromptTokenizer tokenizer(channel, {});
  absl::StatusOr<PromptTextBuilder> builder = PromptTextBuilder::Create(tokenizer);
  ASSERT_TRUE(builder.ok()) << builder.status();
  Random random(8);
  const std::string prefix = *builder->Build("", 20, random);
  for (int32_t length : {2, 5, 33, 200, 2000}) {
    for (const std::string& start : {std::string(), prefix}) {
      if (length < 20 && !start.empty()) continue;
      absl::StatusOr<std::string> text = builder->Build(start, length, random);
      ASSERT_TRUE(text.ok()) << text.status();
      EXPECT_EQ(text->rfind(start, 0), 0u);
      auto stub = v1::TextGeneration::NewStub(channel);
      grpc::ClientContext context;
      v1::TokenizeRequest request;
      request.set_text(*text);
      request.set_add_bos(true);
      v1::TokenizeResponse response;
      ASSERT_TRUE(stub->Tokenize(&context, request, &response).ok());
      EXPECT_EQ(response.token_ids_size(), length) << *text;
    }
  }

  // The bench: every stream's usage.prompt_tokens is checked against the length asked for.
  const BenchRun run = RunBench({"--target", Target(), "--prompt-format", "text", "--prompt-tokens", "40",
                                 "--prompt-tokens-spread", "0.5", "--shared-prefix-tokens", "16", "--num-requests", "6",
                                 "--concurrency", "3", "--output-tokens", "4"});
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  const Json& r = run.report;
  EXPECT_EQ(r["requests_completed"], 6);
  EXPECT_TRUE(r["validation_errors"].empty()) << r["validation_errors"];
  EXPECT_GE(r["prompt_tokens_per_request"]["min"].get<double>(), 20);
  EXPECT_LE(r["prompt_tokens_per_request"]["max"].get<double>(), 60);
  EXPECT_EQ(r["config"]["prompt_format"], "text");
}

TEST_F(BenchProcessTest, SharedPrefixIsServedFromThePrefixCache) {
  ServerProcess cached({"--model", model_dir_->string(), "--max-seqs", "2", "--prefix-cache-min-tokens", "8",
                        "--prefix-cache-chunk-tokens", "16"});
  ASSERT_NE(cached.port(), 0);
  // One stream at a time: each request finds the states the ones before it left.
  const BenchRun run = RunBench({"--target", cached.address(), "--prompt-tokens", "48", "--shared-prefix-tokens",
                                 "40", "--num-requests", "4", "--concurrency", "1", "--output-tokens", "2"});
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  // The first request computes everything; the second starts at the chunk boundary at 32
  // the first left behind, the others at the branch point at 40 the second left.
  EXPECT_EQ(run.report["cached_prompt_tokens"], 32 + 40 + 40) << run.report;
  EXPECT_NE(run.out.find("prefix cache: 112 of the prompt tokens"), std::string::npos) << run.out;
}

TEST_F(BenchProcessTest, RejectedRequestsAreCountedByStatus) {
  // One slot and no waiting room: of 4 concurrent streams, all but one are refused.
  ServerProcess small({"--model", model_dir_->string(), "--max-seqs", "1", "--max-waiting", "0"});
  ASSERT_NE(small.port(), 0);
  const BenchRun run = RunBench({"--target", small.address(), "--concurrency", "4", "--num-requests", "8",
                                 "--prompt-tokens", "16", "--output-tokens", "64"});
  EXPECT_EQ(run.exit_code, 3) << run.err;
  const Json& r = run.report;
  EXPECT_EQ(r["requests_sent"], 8);
  EXPECT_EQ(r["requests_completed"].get<int>() + r["requests_failed"].get<int>(), 8);
  EXPECT_GE(r["requests_completed"].get<int>(), 1);
  ASSERT_TRUE(r["errors_by_status"].contains("RESOURCE_EXHAUSTED")) << r["errors_by_status"];
  EXPECT_EQ(r["errors_by_status"]["RESOURCE_EXHAUSTED"], r["requests_failed"]);
  EXPECT_TRUE(r["validation_errors"].empty());
  EXPECT_FALSE(r["error_examples"].empty());
  EXPECT_NE(run.out.find("RESOURCE_EXHAUSTED"), std::string::npos) << run.out;
}

TEST_F(BenchProcessTest, DeadlineExceededIsCountedByStatus) {
  const BenchRun run = RunBench({"--target", Target(), "--concurrency", "2", "--num-requests", "2", "--prompt-tokens",
                                 "16", "--output-tokens", "100000", "--request-timeout", "0.05"});
  EXPECT_EQ(run.exit_code, 3) << run.err;
  EXPECT_EQ(run.report["requests_failed"], 2);
  EXPECT_EQ(run.report["errors_by_status"]["DEADLINE_EXCEEDED"], 2) << run.report["errors_by_status"];
}

TEST_F(BenchProcessTest, PresetsRunShortened) {
  // Each preset's prompt lengths, with few short outputs so CI stays quick.
  for (const char* preset : {"ci", "chat", "long-8k", "long-32k"}) {
    SCOPED_TRACE(preset);
    const BenchRun run = RunBench({"--target", Target(), "--preset", preset, "--num-requests", "2", "--concurrency",
                                   "2", "--output-tokens", "4"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.report["requests_completed"], 2);
    EXPECT_EQ(run.report["config"]["preset"], preset);
  }
}

TEST_F(BenchProcessTest, LongContextPresetRuns) {
  // One 128K-token prompt: the tiny model prefills it in seconds on a CPU.
  const BenchRun run = RunBench({"--target", Target(), "--preset", "long-128k", "--num-requests", "1", "--concurrency",
                                 "1", "--output-tokens", "8"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const Json& r = run.report;
  EXPECT_EQ(r["requests_completed"], 1);
  EXPECT_EQ(r["prompt_tokens"], 131072);
  EXPECT_EQ(r["output_tokens"], 8);
  ASSERT_EQ(r["itl_vs_prompt_tokens"].size(), 1u);
  EXPECT_EQ(r["itl_vs_prompt_tokens"][0]["prompt_tokens_min"], 131072);
  EXPECT_EQ(r["itl_vs_position"][0]["position_min"], 131073);
}

TEST_F(BenchProcessTest, WritesPlots) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) GTEST_SKIP() << "gnuplot is not installed";
  const std::filesystem::path dir = testing::MakeTempDir("bench_plots");
  const BenchRun run = RunBench({"--target", Target(), "--concurrency", "1,2", "--num-requests", "2", "--prompt-tokens",
                                 "16", "--output-tokens", "8", "--plot-dir", dir.string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const char* png : {"latency_vs_load.png", "itl_vs_position.png", "itl_vs_prompt_tokens.png"}) {
    EXPECT_GT(std::filesystem::file_size(dir / png), 1000u) << png;
  }
}

TEST(BenchFlagsTest, BadFlagsAndUnreachableServers) {
  EXPECT_EQ(RunBench({"--prompt-format", "yaml"}).exit_code, 2);
  EXPECT_EQ(RunBench({"--rate", "0"}).exit_code, 2);
  EXPECT_EQ(RunBench({"--concurrency", "2", "--rate", "1"}).exit_code, 2);
  const BenchRun unreachable = RunBench({"--target", "127.0.0.1:1", "--connect-timeout", "0.5"});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_NE(unreachable.err.find("GetModelInfo"), std::string::npos) << unreachable.err;
}

}  // namespace
}  // namespace glaserve::loadtest
