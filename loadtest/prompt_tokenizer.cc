#include "loadtest/prompt_tokenizer.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace glaserve::loadtest {

RpcPromptTokenizer::RpcPromptTokenizer(std::shared_ptr<grpc::Channel> channel,
                                       std::vector<std::pair<std::string, std::string>> metadata)
    : stub_(v1::TextGeneration::NewStub(channel)), metadata_(std::move(metadata)) {}

absl::StatusOr<std::vector<int32_t>> RpcPromptTokenizer::Encode(const std::string& text) {
  v1::TokenizeRequest request;
  request.set_text(text);
  request.set_add_bos(true);
  absl::StatusOr<v1::TokenizeResponse> response = Call(request);
  if (!response.ok()) return response.status();
  return std::vector<int32_t>(response->token_ids().begin(), response->token_ids().end());
}

absl::StatusOr<std::string> RpcPromptTokenizer::Decode(const std::vector<int32_t>& token_ids) {
  v1::TokenizeRequest request;
  request.mutable_token_ids()->Assign(token_ids.begin(), token_ids.end());
  absl::StatusOr<v1::TokenizeResponse> response = Call(request);
  if (!response.ok()) return response.status();
  return std::move(*response->mutable_text());
}

absl::StatusOr<v1::TokenizeResponse> RpcPromptTokenizer::Call(const v1::TokenizeRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(2));
  for (const auto& [key, value] : metadata_) context.AddMetadata(key, value);
  v1::TokenizeResponse response;
  grpc::Status status = stub_->Tokenize(&context, request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("Tokenize: ", status.error_message()));
  }
  return response;
}

}  // namespace glaserve::loadtest
