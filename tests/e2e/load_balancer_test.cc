// Two real `glaserve serve` replicas behind the nginx (and HAProxy) config shipped in
// deploy/, all on loopback, driven by a gRPC client over ONE channel (one HTTP/2
// connection, as real clients do): per-request balancing, SIGTERM drain and kill -9 of a
// replica under load, and the container's HEALTHCHECK command.
//
// The two replicas load checkpoints that differ only in their random seed, so the first
// token of a greedy stream tells which replica generated it.
#include <signal.h>
#include <sys/wait.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "glaserve/v1/glaserve.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/e2e/proxy_process.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_checkpoint.h"

namespace glaserve {
namespace {

using ::glaserve::testing::ProxyProcess;
using ::glaserve::testing::ServerProcess;
using HealthStatus = grpc::health::v1::HealthCheckResponse;

// Long enough that a stream is still running while the test signals a replica (a few
// seconds on the CPU backend), short enough to keep each test within seconds.
constexpr int kLongTokens = 15000;
constexpr int kShortTokens = 16;

v1::GenerateRequest Greedy(int max_tokens) {
  v1::GenerateRequest request;
  for (int32_t id : {5, 17, 42, 99}) request.add_prompt_token_ids(id);
  request.mutable_sampling()->set_temperature(0);
  request.mutable_sampling()->set_max_tokens(max_tokens);
  request.mutable_sampling()->set_ignore_eos(true);
  return request;
}

struct StreamResult {
  std::vector<int32_t> token_ids;
  grpc::Status status;
};

StreamResult ReadStream(v1::TextGeneration::Stub& stub, const v1::GenerateRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  StreamResult result;
  auto reader = stub.Generate(&context, request);
  v1::GenerateResponse response;
  while (reader->Read(&response)) {
    result.token_ids.insert(result.token_ids.end(), response.token_ids().begin(), response.token_ids().end());
  }
  result.status = reader->Finish();
  return result;
}

// One Generate stream read on its own thread, so that the test can act while it runs.
class BackgroundStream {
 public:
  BackgroundStream(v1::TextGeneration::Stub& stub, int max_tokens) {
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    thread_ = std::thread([this, &stub, max_tokens] {
      auto reader = stub.Generate(&context_, Greedy(max_tokens));
      v1::GenerateResponse response;
      while (reader->Read(&response)) {
        std::lock_guard<std::mutex> lock(mutex_);
        result_.token_ids.insert(result_.token_ids.end(), response.token_ids().begin(),
                                 response.token_ids().end());
        changed_.notify_all();
      }
      grpc::Status status = reader->Finish();
      std::lock_guard<std::mutex> lock(mutex_);
      result_.status = status;
      done_ = true;
      changed_.notify_all();
    });
  }
  ~BackgroundStream() {
    context_.TryCancel();
    if (thread_.joinable()) thread_.join();
  }

  // The first token, once it arrived (-1 if the stream ended without one or took > 30 s).
  int32_t FirstToken() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(30), [this] { return !result_.token_ids.empty() || done_; });
    return result_.token_ids.empty() ? -1 : result_.token_ids[0];
  }
  bool done() {
    std::lock_guard<std::mutex> lock(mutex_);
    return done_;
  }
  StreamResult Finish() {
    thread_.join();
    return result_;
  }

 private:
  grpc::ClientContext context_;
  std::mutex mutex_;
  std::condition_variable changed_;
  StreamResult result_;
  bool done_ = false;
  std::thread thread_;
};

// The value of the sample whose name-and-labels part is exactly `series` (0 if absent).
double SampleValue(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return 0;
}

HealthStatus::ServingStatus Health(const std::string& address) {
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  HealthStatus response;
  return stub->Check(&context, {}, &response).ok() ? response.status() : HealthStatus::UNKNOWN;
}

// Runs a command; its exit code and standard output.
std::pair<int, std::string> RunCommand(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  std::string out;
  char buffer[256];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class LoadBalancerTest : public ::testing::Test {
 protected:
  static constexpr int kNumReplicas = 2;

  static void SetUpTestSuite() {
    for (int i = 0; i < kNumReplicas; ++i) {
      model_dirs_[i] = new std::filesystem::path(testing::MakeTempDir(absl::StrCat("replica_model_", i)));
      ASSERT_TRUE(testing::WriteRandomCheckpoint(
          *model_dirs_[i], {"--hidden-size", "64", "--num-layers", "2", "--num-heads", "2", "--vocab-size", "512",
                            "--seed", std::to_string(70 + i)}));
    }
  }

  // Starts both replicas and learns each one's first greedy token by asking it directly.
  void StartReplicas() {
    for (int i = 0; i < kNumReplicas; ++i) {
      replicas_[i] = std::make_unique<ServerProcess>(std::vector<std::string>{
          "--model", model_dirs_[i]->string(), "--max-seqs", "8", "--metrics-port", "0", "--drain-timeout", "60"});
      ASSERT_NE(replicas_[i]->port(), 0);
      ASSERT_NE(replicas_[i]->metrics_port(), 0);
    }
    for (int i = 0; i < kNumReplicas; ++i) {
      auto stub = v1::TextGeneration::NewStub(
          grpc::CreateChannel(replicas_[i]->address(), grpc::InsecureChannelCredentials()));
      StreamResult direct = ReadStream(*stub, Greedy(1));
      ASSERT_TRUE(direct.status.ok()) << direct.status.error_message();
      first_token_[i] = direct.token_ids.at(0);
      served_before_[i] = OkRequests(i);
    }
    ASSERT_NE(first_token_[0], first_token_[1]) << "pick other seeds: the replicas must be told apart";
  }

  void StartProxy(ProxyProcess::Kind kind) {
    proxy_ = std::make_unique<ProxyProcess>(kind, std::vector<std::string>{replicas_[0]->address(),
                                                                           replicas_[1]->address()});
    ASSERT_TRUE(proxy_->WaitReady()) << proxy_->Log();
    // One channel: all streams share one HTTP/2 connection to the proxy.
    stub_ = v1::TextGeneration::NewStub(grpc::CreateChannel(proxy_->address(), grpc::InsecureChannelCredentials()));
  }

  // Which replica generated a stream that began with `first_token` (-1: neither).
  int ReplicaOf(int32_t first_token) const {
    for (int i = 0; i < kNumReplicas; ++i) {
      if (first_token == first_token_[i]) return i;
    }
    return -1;
  }

  // Requests that replica `i` finished with OK, from its own /metrics.
  double OkRequests(int i) {
    httplib::Client client("127.0.0.1", replicas_[i]->metrics_port());
    httplib::Result response = client.Get("/metrics");
    if (!response || response->status != 200) return -1;
    return SampleValue(response->body, R"(glaserve_requests_total{status="OK",finish_reason="length"})");
  }

  // Waits (up to 5 s) until replica `i`'s /metrics counts `expected` OK requests since the
  // proxy started; the count it last saw.
  double WaitForServed(int i, double expected) {
    double served = -1;
    for (int attempt = 0; attempt < 100; ++attempt) {
      served = OkRequests(i) - served_before_[i];
      if (served == expected) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return served;
  }

  // Starts `n` long streams through the proxy and waits for each one's first token; sets
  // on_replica[i] to the streams running on replica i.
  std::vector<std::unique_ptr<BackgroundStream>> StartLongStreams(int n, std::vector<std::vector<int>>* on_replica) {
    std::vector<std::unique_ptr<BackgroundStream>> streams;
    for (int s = 0; s < n; ++s) streams.push_back(std::make_unique<BackgroundStream>(*stub_, kLongTokens));
    on_replica->assign(kNumReplicas, {});
    for (int s = 0; s < n; ++s) {
      const int replica = ReplicaOf(streams[s]->FirstToken());
      EXPECT_GE(replica, 0) << "stream " << s << " did not start";
      if (replica >= 0) (*on_replica)[replica].push_back(s);
    }
    return streams;
  }

  // Many concurrent streams on the one client connection are spread over both replicas,
  // every stream completes through the proxy, and each replica's own /metrics counts
  // exactly the streams the client saw it generate.
  void ExpectStreamsSpreadOverBothReplicas() {
    constexpr int kStreams = 12, kTokens = 400;
    std::vector<StreamResult> results(kStreams);
    std::vector<std::thread> clients;
    for (int s = 0; s < kStreams; ++s) {
      clients.emplace_back([&, s] { results[s] = ReadStream(*stub_, Greedy(kTokens)); });
    }
    for (auto& client : clients) client.join();
    int per_replica[kNumReplicas] = {};
    for (int s = 0; s < kStreams; ++s) {
      ASSERT_TRUE(results[s].status.ok()) << "stream " << s << ": " << results[s].status.error_message() << "\n"
                                          << proxy_->Log();
      EXPECT_EQ(results[s].token_ids.size(), static_cast<size_t>(kTokens));
      const int replica = ReplicaOf(results[s].token_ids.at(0));
      ASSERT_GE(replica, 0);
      ++per_replica[replica];
    }
    // Balancing on open streams: both replicas carry a fair share.
    EXPECT_GE(per_replica[0], 3) << per_replica[0] << " vs " << per_replica[1];
    EXPECT_GE(per_replica[1], 3) << per_replica[0] << " vs " << per_replica[1];
    for (int i = 0; i < kNumReplicas; ++i) {
      EXPECT_EQ(WaitForServed(i, per_replica[i]), per_replica[i]) << "replica " << i;
    }
  }

  // SIGTERM to a replica with streams running on it: those streams still complete in full
  // through the proxy, new requests meanwhile all go to the other replica, and the drained
  // process exits 0.
  void ExpectSigtermFailsNoStream() {
    std::vector<std::vector<int>> on_replica;
    std::vector<std::unique_ptr<BackgroundStream>> streams = StartLongStreams(4, &on_replica);
    ASSERT_FALSE(on_replica[0].empty()) << "the proxy put no stream on replica 0";
    const int survivor = 1;
    replicas_[0]->Signal(SIGTERM);
    // Draining: replica 0 no longer reports SERVING to a new health check (NOT_SERVING, or
    // no answer once it stopped taking connections) while its streams run.
    bool draining = false;
    for (int i = 0; i < 200 && !draining; ++i) {
      draining = Health(replicas_[0]->address()) != HealthStatus::SERVING;
      if (!draining) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(draining);

    constexpr int kNewRequests = 6;
    for (int r = 0; r < kNewRequests; ++r) {
      StreamResult result = ReadStream(*stub_, Greedy(kShortTokens));
      ASSERT_TRUE(result.status.ok()) << "new request " << r << " during the drain: " << result.status.error_message()
                                      << "\n" << proxy_->Log();
      EXPECT_EQ(ReplicaOf(result.token_ids.at(0)), survivor) << "new request " << r;
    }
    // The drain was still going on while the new requests ran.
    for (int s : on_replica[0]) EXPECT_FALSE(streams[s]->done()) << "stream " << s << " ended before the new requests";

    for (size_t s = 0; s < streams.size(); ++s) {
      StreamResult result = streams[s]->Finish();
      EXPECT_TRUE(result.status.ok()) << "stream " << s << ": " << result.status.error_message();
      EXPECT_EQ(result.token_ids.size(), static_cast<size_t>(kLongTokens)) << "stream " << s;
    }
    EXPECT_EQ(replicas_[0]->Wait(60), std::optional<int>(0)) << replicas_[0]->stderr_text();
    EXPECT_EQ(WaitForServed(survivor, on_replica[survivor].size() + kNewRequests),
              on_replica[survivor].size() + kNewRequests);
  }

  // kill -9 of a replica with streams running on it: exactly its streams fail, with
  // `failed_code` (a client connected to the replica itself would see UNAVAILABLE); the
  // survivor's streams complete; every request after goes to the survivor.
  void ExpectKillNineFailsOnlyItsStreams(grpc::StatusCode failed_code) {
    std::vector<std::vector<int>> on_replica;
    std::vector<std::unique_ptr<BackgroundStream>> streams = StartLongStreams(4, &on_replica);
    ASSERT_FALSE(on_replica[0].empty()) << "the proxy put no stream on replica 0";
    const int survivor = 1;
    replicas_[0]->Signal(SIGKILL);
    EXPECT_EQ(replicas_[0]->Wait(10), std::nullopt);  // died by the signal

    for (int s : on_replica[0]) {
      StreamResult result = streams[s]->Finish();
      EXPECT_EQ(result.status.error_code(), failed_code)
          << "stream " << s << " was on the killed replica: " << result.status.error_message();
      EXPECT_LT(result.token_ids.size(), static_cast<size_t>(kLongTokens));
    }
    constexpr int kNewRequests = 6;
    for (int r = 0; r < kNewRequests; ++r) {
      StreamResult result = ReadStream(*stub_, Greedy(kShortTokens));
      ASSERT_TRUE(result.status.ok()) << "new request " << r << ": " << result.status.error_message() << "\n"
                                      << proxy_->Log();
      EXPECT_EQ(ReplicaOf(result.token_ids.at(0)), survivor);
    }
    for (int s : on_replica[survivor]) {
      StreamResult result = streams[s]->Finish();
      EXPECT_TRUE(result.status.ok()) << "stream " << s << ": " << result.status.error_message();
      EXPECT_EQ(result.token_ids.size(), static_cast<size_t>(kLongTokens));
    }
    EXPECT_EQ(WaitForServed(survivor, on_replica[survivor].size() + kNewRequests),
              on_replica[survivor].size() + kNewRequests);
  }

  static std::filesystem::path* model_dirs_[kNumReplicas];
  std::unique_ptr<ServerProcess> replicas_[kNumReplicas];
  int32_t first_token_[kNumReplicas] = {};
  double served_before_[kNumReplicas] = {};
  std::unique_ptr<ProxyProcess> proxy_;
  std::unique_ptr<v1::TextGeneration::Stub> stub_;
};
std::filesystem::path* LoadBalancerTest::model_dirs_[kNumReplicas] = {};

TEST_F(LoadBalancerTest, NginxSpreadsStreamsOfOneConnectionOverBothReplicas) {
  ASSERT_NO_FATAL_FAILURE(StartReplicas());
  ASSERT_NO_FATAL_FAILURE(StartProxy(ProxyProcess::Kind::kNginx));
  ExpectStreamsSpreadOverBothReplicas();
}

TEST_F(LoadBalancerTest, HaproxySpreadsStreamsOfOneConnectionOverBothReplicas) {
  ASSERT_NO_FATAL_FAILURE(StartReplicas());
  ASSERT_NO_FATAL_FAILURE(StartProxy(ProxyProcess::Kind::kHaproxy));
  ExpectStreamsSpreadOverBothReplicas();
}

TEST_F(LoadBalancerTest, NginxDrainsAReplicaOnSigtermWithoutFailingAStream) {
  ASSERT_NO_FATAL_FAILURE(StartReplicas());
  ASSERT_NO_FATAL_FAILURE(StartProxy(ProxyProcess::Kind::kNginx));
  ExpectSigtermFailsNoStream();
}

// Not for HAProxy: HAProxy 2.6 was seen to reset a stream still running on a draining
// replica ("Stream removed"); deploy/README.md recommends nginx where drains must be clean.

TEST_F(LoadBalancerTest, NginxKillNineFailsOnlyTheStreamsOfTheKilledReplica) {
  ASSERT_NO_FATAL_FAILURE(StartReplicas());
  ASSERT_NO_FATAL_FAILURE(StartProxy(ProxyProcess::Kind::kNginx));
  // nginx resets the client's stream whose replica vanished (RST_STREAM INTERNAL_ERROR).
  ExpectKillNineFailsOnlyItsStreams(grpc::StatusCode::INTERNAL);
  // nginx tried the dead replica first (it had the fewest streams) and passed the call on.
  EXPECT_NE(proxy_->Log().find("Connection refused"), std::string::npos) << proxy_->Log();
  // With no replica left the client gets UNAVAILABLE (retryable) from nginx itself.
  replicas_[1]->Signal(SIGKILL);
  replicas_[1]->Wait(10);
  const grpc::Status none_left = ReadStream(*stub_, Greedy(kShortTokens)).status;
  EXPECT_EQ(none_left.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(none_left.error_message(), "no glaserve replica could be reached");
}

TEST_F(LoadBalancerTest, HaproxyKillNineFailsOnlyTheStreamsOfTheKilledReplica) {
  ASSERT_NO_FATAL_FAILURE(StartReplicas());
  ASSERT_NO_FATAL_FAILURE(StartProxy(ProxyProcess::Kind::kHaproxy));
  // HAProxy resets it with "Stream removed", which gRPC reports as UNKNOWN.
  ExpectKillNineFailsOnlyItsStreams(grpc::StatusCode::UNKNOWN);
}

// The Dockerfile's HEALTHCHECK command, run against a replica: exit 0 and SERVING while it
// serves, non-zero while it drains and once it is gone.
TEST_F(LoadBalancerTest, ContainerHealthcheckTracksServingState) {
  std::string dockerfile = testing::ReadFile(std::filesystem::path(GLASERVE_SOURCE_DIR) / "Dockerfile");
  dockerfile = std::regex_replace(dockerfile, std::regex(R"(\\\n)"), " ");  // join continued lines
  std::smatch match;
  ASSERT_TRUE(std::regex_search(dockerfile, match, std::regex(R"(HEALTHCHECK[^\n]*CMD \[([^\]\n]*)\])")))
      << "no exec-form HEALTHCHECK in the Dockerfile";
  std::vector<std::string> argv;
  const std::string list = match[1];
  const std::regex quoted(R"re("([^"]*)")re");
  for (std::sregex_iterator it(list.begin(), list.end(), quoted), end; it != end; ++it) {
    argv.push_back((*it)[1]);
  }
  ASSERT_GE(argv.size(), 4u);
  ASSERT_EQ(argv[0], "glaserve");
  ASSERT_EQ(argv[1], "health");
  ASSERT_NO_FATAL_FAILURE(StartReplicas());
  argv[0] = testing::BinDir() + "/glaserve";
  bool has_addr = false;
  for (std::string& arg : argv) {
    if (arg == "127.0.0.1:50051") {  // the image's --port, here the replica's port
      arg = replicas_[0]->address();
      has_addr = true;
    }
  }
  ASSERT_TRUE(has_addr) << "the HEALTHCHECK should ask 127.0.0.1:50051 (the image's gRPC port)";
  const std::string command = absl::StrJoin(argv, " ") + " 2>/dev/null";

  EXPECT_EQ(RunCommand(command), std::make_pair(0, std::string("SERVING\n")));
  auto stub = v1::TextGeneration::NewStub(grpc::CreateChannel(replicas_[0]->address(), grpc::InsecureChannelCredentials()));
  BackgroundStream stream(*stub, kLongTokens);
  ASSERT_GE(stream.FirstToken(), 0);
  replicas_[0]->Signal(SIGTERM);
  std::pair<int, std::string> draining;
  for (int i = 0; i < 100; ++i) {
    draining = RunCommand(command);
    if (draining.first != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Unhealthy while draining: exit 1 with NOT_SERVING when the health service answers,
  // exit 2 when the replica already stopped taking connections.
  EXPECT_TRUE(draining == std::make_pair(1, std::string("NOT_SERVING\n")) ||
              draining == std::make_pair(2, std::string()))
      << draining.first << " " << draining.second;
  EXPECT_TRUE(stream.Finish().status.ok());
  EXPECT_EQ(replicas_[0]->Wait(60), std::optional<int>(0));
  EXPECT_EQ(RunCommand(command), std::make_pair(2, std::string()));
}

TEST(ShippedProxyConfigTest, NginxAcceptsTheConfig) {
  const auto dir = testing::MakeTempDir("nginx_t");
  const std::filesystem::path config = testing::RenderNginxConfig(dir, {"127.0.0.1:50051", "127.0.0.1:50052"}, 8080);
  ASSERT_FALSE(config.empty());
  auto [rc, out] = RunCommand(absl::StrCat("/usr/sbin/nginx -t -p ", dir.string(), "/ -c ", config.string(), " 2>&1"));
  EXPECT_EQ(rc, 0) << out << testing::ReadFile(dir / "error.log");
}

TEST(ShippedProxyConfigTest, HaproxyAcceptsTheConfig) {
  const auto dir = testing::MakeTempDir("haproxy_c");
  const std::filesystem::path config = testing::RenderHaproxyConfig(dir, {"127.0.0.1:50051", "127.0.0.1:50052"}, 8080);
  ASSERT_FALSE(config.empty());
  auto [rc, out] = RunCommand(absl::StrCat("/usr/sbin/haproxy -c -f ", config.string(), " 2>&1"));
  EXPECT_EQ(rc, 0) << out;
}

}  // namespace
}  // namespace glaserve
