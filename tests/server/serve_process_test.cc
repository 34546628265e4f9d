// A real `glaserve serve` process driven by a gRPC client over loopback: health
// transitions, SIGTERM drain with streams in flight, TLS, and start-up errors.
#include <signal.h>

#include <cstdlib>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"
#include "tests/testing/server_process.h"
#include "tests/testing/test_checkpoint.h"
#include "tests/testing/test_tokenizer.h"

namespace glaserve {
namespace {

using ::glaserve::testing::ReadStream;
using ::glaserve::testing::ServerProcess;
using ::glaserve::testing::StreamResult;
using ::testing::AnyOf;
using HealthStatus = grpc::health::v1::HealthCheckResponse;

class ServeProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(testing::MakeTempDir("serve_model"));
    ASSERT_TRUE(testing::WriteRandomCheckpoint(
        *dir_, {"--hidden-size", "64", "--num-layers", "2", "--num-heads", "2", "--vocab-size",
                std::to_string(testing::kTestTokenizerVocabSize), "--seed", "41"}));
    testing::CopyTestTokenizer(*dir_);
  }

  static HealthStatus::ServingStatus Health(const std::shared_ptr<grpc::Channel>& channel,
                                            const std::string& service = "") {
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    HealthStatus response;
    grpc::Status status = stub->Check(&context, request, &response);
    return status.ok() ? response.status() : HealthStatus::UNKNOWN;
  }

  static v1::GenerateRequest Greedy(int max_tokens) {
    v1::GenerateRequest request;
    request.set_prompt("Once upon a time");
    request.mutable_sampling()->set_temperature(0);
    request.mutable_sampling()->set_max_tokens(max_tokens);
    request.mutable_sampling()->set_ignore_eos(true);
    return request;
  }

  static std::filesystem::path* dir_;
};
std::filesystem::path* ServeProcessTest::dir_ = nullptr;

TEST_F(ServeProcessTest, ServesHealthAndStreams) {
  ServerProcess server({"--model", dir_->string(), "--max-seqs", "4"});
  ASSERT_NE(server.port(), 0);
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  EXPECT_EQ(Health(channel), HealthStatus::SERVING);
  EXPECT_EQ(Health(channel, "glaserve.v1.TextGeneration"), HealthStatus::SERVING);
  auto stub = v1::TextGeneration::NewStub(channel);
  StreamResult result = ReadStream(*stub, Greedy(12));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.token_ids.size(), 12u);
  EXPECT_EQ(result.responses.back().finish_reason(), v1::FINISH_REASON_LENGTH);
  // The `glaserve health` subcommand agrees.
  const std::string health_cmd = testing::BinDir() + "/glaserve health --addr " + server.address() + " > /dev/null";
  EXPECT_EQ(std::system(health_cmd.c_str()), 0);
}

TEST_F(ServeProcessTest, SigtermDrainsStreamsInFlightThenExitsZero) {
  ServerProcess server({"--model", dir_->string(), "--max-seqs", "4", "--drain-timeout", "60"});
  ASSERT_NE(server.port(), 0);
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto stub = v1::TextGeneration::NewStub(channel);
  const int num_streams = 3, num_tokens = 300;
  std::vector<StreamResult> results(num_streams);
  std::vector<std::atomic<bool>> started(num_streams);
  std::vector<std::thread> clients;
  for (int i = 0; i < num_streams; ++i) {
    clients.emplace_back([&, i] {
      grpc::ClientContext context;
      auto reader = stub->Generate(&context, Greedy(num_tokens));
      v1::GenerateResponse response;
      while (reader->Read(&response)) {
        started[i] = true;
        results[i].token_ids.insert(results[i].token_ids.end(), response.token_ids().begin(),
                                    response.token_ids().end());
        results[i].responses.push_back(response);
      }
      results[i].status = reader->Finish();
    });
  }
  for (int i = 0; i < num_streams; ++i) {
    while (!started[i]) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  server.Signal(SIGTERM);
  // While draining: health is no longer SERVING (NOT_SERVING, or no answer once the
  // listener is closed) and new work is refused.
  bool saw_not_serving = false;
  for (int i = 0; i < 100 && !saw_not_serving; ++i) {
    saw_not_serving = Health(channel) != HealthStatus::SERVING;
    if (!saw_not_serving) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(saw_not_serving);
  // New connections (a balancer's next stream, a new client) are soon refused at connect,
  // with UNAVAILABLE, which clients and balancers retry elsewhere; no new call is served.
  bool refused_at_connect = false;
  for (int i = 0; i < 100 && !refused_at_connect; ++i) {
    auto new_stub =
        v1::TextGeneration::NewStub(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
    const grpc::Status status = ReadStream(*new_stub, Greedy(5)).status;
    ASSERT_FALSE(status.ok()) << "a call on a new connection was served while draining";
    refused_at_connect = status.error_code() == grpc::StatusCode::UNAVAILABLE;
    if (!refused_at_connect) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(refused_at_connect);
  // A new call on the connection the streams run on is refused too: UNAVAILABLE when the
  // service turns it away, CANCELLED when gRPC's own shutdown (which sends GOAWAY and
  // closes the listener) sees it first; which one is a race inside gRPC.
  StreamResult refused = ReadStream(*stub, Greedy(5));
  EXPECT_THAT(refused.status.error_code(),
              AnyOf(grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::CANCELLED))
      << refused.status.error_message();
  EXPECT_TRUE(refused.token_ids.empty());
  for (auto& client : clients) client.join();
  for (int i = 0; i < num_streams; ++i) {
    EXPECT_TRUE(results[i].status.ok()) << results[i].status.error_message();
    EXPECT_EQ(results[i].token_ids.size(), static_cast<size_t>(num_tokens));
    EXPECT_EQ(results[i].responses.back().finish_reason(), v1::FINISH_REASON_LENGTH);
  }
  EXPECT_EQ(server.Wait(30), std::optional<int>(0)) << server.stderr_text();
}

TEST_F(ServeProcessTest, DrainTimeoutEndsStreamsAndStillExitsZero) {
  ServerProcess server({"--model", dir_->string(), "--max-seqs", "1", "--drain-timeout", "0.2"});
  ASSERT_NE(server.port(), 0);
  auto stub = v1::TextGeneration::NewStub(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  auto reader = stub->Generate(&context, Greedy(1000000));
  v1::GenerateResponse response;
  ASSERT_TRUE(reader->Read(&response));
  server.Signal(SIGTERM);
  while (reader->Read(&response)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(server.Wait(30), std::optional<int>(0)) << server.stderr_text();
}

TEST_F(ServeProcessTest, TlsServesEncryptedConnectionsOnly) {
  const auto tls_dir = testing::MakeTempDir("tls");
  const std::string cert = (tls_dir / "cert.pem").string(), key = (tls_dir / "key.pem").string();
  const std::string make_cert = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                                "-addext subjectAltName=IP:127.0.0.1 -keyout " + key + " -out " + cert +
                                " 2>/dev/null";
  ASSERT_EQ(std::system(make_cert.c_str()), 0) << "openssl failed";
  ServerProcess server({"--model", dir_->string(), "--tls-cert", cert, "--tls-key", key});
  ASSERT_NE(server.port(), 0);
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = testing::ReadFile(cert);
  auto secure = v1::TextGeneration::NewStub(grpc::CreateChannel(server.address(), grpc::SslCredentials(options)));
  StreamResult result = ReadStream(*secure, Greedy(4));
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.token_ids.size(), 4u);
  auto plain = v1::TextGeneration::NewStub(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(ReadStream(*plain, Greedy(4), &context).status.ok());
}

TEST_F(ServeProcessTest, AuthTokenFileGuardsTheProcess) {
  const auto auth_dir = testing::MakeTempDir("auth");
  testing::WriteFile(auth_dir / "token", "tok-123\n");
  ServerProcess server({"--model", dir_->string(), "--auth-token-file", (auth_dir / "token").string()});
  ASSERT_NE(server.port(), 0);
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto stub = v1::TextGeneration::NewStub(channel);
  EXPECT_EQ(ReadStream(*stub, Greedy(2)).status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer tok-123");
  EXPECT_TRUE(ReadStream(*stub, Greedy(2), &context).status.ok());
  // Health stays open to load balancers.
  EXPECT_EQ(Health(channel), HealthStatus::SERVING);
}

TEST_F(ServeProcessTest, BadStartupFlagsExitNonZeroWithAMessage) {
  const std::string cmd = testing::BinDir() + "/glaserve serve --model /nonexistent/model --port 0 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buffer[256];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
  const int status = pclose(pipe);
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_THAT(out, ::testing::HasSubstr("/nonexistent/model"));
}

}  // namespace
}  // namespace glaserve
