#include "tests/reliability/server_probe.h"

#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "glaserve/v1/glaserve.grpc.pb.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/testing/test_checkpoint.h"
#include "tests/testing/test_tokenizer.h"

namespace glaserve::testing {

ServerLoad GetServerLoad(const std::string& address) {
  auto stub = v1::TextGeneration::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::GetModelInfoResponse info;
  if (!stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &info).ok()) return {};
  return {info.slots_in_use(), info.requests_waiting()};
}

bool WaitServerIdle(const std::string& address, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (true) {
    const ServerLoad load = GetServerLoad(address);
    if (load.slots_in_use == 0 && load.waiting == 0) return true;
    if (absl::Now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void ExpectCleanExit(ServerProcess& server) {
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(60), std::optional<int>(0)) << server.stderr_text();
}

int64_t ResidentBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmRSS:  1234 kB"
  }
  return -1;
}

std::string ScrapeMetrics(int metrics_port) {
  httplib::Client client("127.0.0.1", metrics_port);
  httplib::Result response = client.Get("/metrics");
  return response && response->status == 200 ? response->body : "";
}

double MetricSample(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return 0;
}

const std::string& ReliabilityModelDir() {
  static const std::string* dir = [] {
    const std::filesystem::path path = MakeTempDir("reliability_model");
    EXPECT_TRUE(WriteRandomCheckpoint(path, {"--hidden-size", "64", "--num-layers", "2", "--num-heads", "2",
                                             "--vocab-size", std::to_string(kTestTokenizerVocabSize),
                                             "--seed", "61"}));
    CopyTestTokenizer(path);
    return new std::string(path.string());
  }();
  return *dir;
}

}  // namespace glaserve::testing

namespace glaserve::testing {

std::vector<std::string> ServeArgs(std::vector<std::string> extra) {
  std::vector<std::string> args = {"--model", ReliabilityModelDir(), "--log-level", "warning"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

}  // namespace glaserve::testing
