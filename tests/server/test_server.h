// An in-process glaserve server for service tests: the real engine thread and the real
// gRPC server on a loopback port, with a client stub.
#ifndef GLASERVE_TESTS_SERVER_TEST_SERVER_H_
#define GLASERVE_TESTS_SERVER_TEST_SERVER_H_

#include <memory>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "engine/engine.h"
#include "glaserve/v1/glaserve.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/text_generation_service.h"

namespace glaserve::testing {

class TestServer {
 public:
  TestServer(const std::filesystem::path& model_dir, int32_t slots, EngineOptions options = {},
             std::optional<std::string> auth_token = std::nullopt) {
    absl::StatusOr<LoadedModel> model = LoadModel({model_dir, "cpu", slots});
    EXPECT_TRUE(model.ok()) << model.status();
    engine_ = std::make_unique<Engine>(*std::move(model), options);
    engine_->Start();
    service_ = std::make_unique<TextGenerationService>(*engine_, std::move(auth_token));
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    EXPECT_NE(port_, 0);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials());
  }
  ~TestServer() {
    engine_->Stop();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  std::unique_ptr<v1::TextGeneration::Stub> NewStub() { return v1::TextGeneration::NewStub(channel_); }
  Engine& engine() { return *engine_; }
  int port() const { return port_; }

 private:
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<TextGenerationService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  int port_ = 0;
};

// Reads a whole Generate stream.
struct StreamResult {
  std::vector<v1::GenerateResponse> responses;
  std::string text;
  std::vector<int32_t> token_ids;
  grpc::Status status;
};

inline StreamResult ReadStream(v1::TextGeneration::Stub& stub, const v1::GenerateRequest& request,
                               grpc::ClientContext* context = nullptr) {
  grpc::ClientContext own_context;
  if (context == nullptr) context = &own_context;
  StreamResult result;
  auto reader = stub.Generate(context, request);
  v1::GenerateResponse response;
  while (reader->Read(&response)) {
    result.text += response.text();
    result.token_ids.insert(result.token_ids.end(), response.token_ids().begin(), response.token_ids().end());
    result.responses.push_back(response);
  }
  result.status = reader->Finish();
  return result;
}

}  // namespace glaserve::testing

#endif  // GLASERVE_TESTS_SERVER_TEST_SERVER_H_
