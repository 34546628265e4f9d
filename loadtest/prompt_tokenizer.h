// The model's tokenizer as a load test sees it: through the server's Tokenize RPC. An
// interface so that the text-prompt builder can be tested with a fake.
#ifndef GLASERVE_LOADTEST_PROMPT_TOKENIZER_H_
#define GLASERVE_LOADTEST_PROMPT_TOKENIZER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "glaserve/v1/glaserve.grpc.pb.h"

namespace glaserve::loadtest {

class PromptTokenizer {
 public:
  virtual ~PromptTokenizer() = default;
  // `text` as a prompt is tokenized, BOS included when the model's tokenizer adds one.
  virtual absl::StatusOr<std::vector<int32_t>> Encode(const std::string& text) = 0;
  virtual absl::StatusOr<std::string> Decode(const std::vector<int32_t>& token_ids) = 0;
};

// Calls Tokenize on a server; safe to use from several threads.
class RpcPromptTokenizer : public PromptTokenizer {
 public:
  // `metadata` (e.g. authorization) is sent with every call.
  RpcPromptTokenizer(std::shared_ptr<grpc::Channel> channel, std::vector<std::pair<std::string, std::string>> metadata);

  absl::StatusOr<std::vector<int32_t>> Encode(const std::string& text) override;
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& token_ids) override;

 private:
  absl::StatusOr<v1::TokenizeResponse> Call(const v1::TokenizeRequest& request);

  std::unique_ptr<v1::TextGeneration::Stub> stub_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_PROMPT_TOKENIZER_H_
