// glaserve.v1.TextGeneration on gRPC's callback API: Generate hands each stream to a
// GenerateReactor; Tokenize and GetModelInfo answer inline.
#ifndef GLASERVE_SERVER_TEXT_GENERATION_SERVICE_H_
#define GLASERVE_SERVER_TEXT_GENERATION_SERVICE_H_

#include <optional>
#include <string>

#include "engine/engine.h"
#include "glaserve/v1/glaserve.grpc.pb.h"
#include "server/generate_reactor.h"

namespace glaserve {

class TextGenerationService final : public v1::TextGeneration::CallbackService {
 public:
  // `auth_token`: when set, every call must carry "authorization: Bearer <token>".
  // `stream_buffer_bytes`: the bound on each stream's unsent output (see GenerateReactor).
  TextGenerationService(Engine& engine, std::optional<std::string> auth_token,
                        GenerateObserver* observer = nullptr,
                        int64_t stream_buffer_bytes = kDefaultStreamBufferBytes);

  grpc::ServerWriteReactor<v1::GenerateResponse>* Generate(grpc::CallbackServerContext* context,
                                                           const v1::GenerateRequest* request) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context,
                                     const v1::TokenizeRequest* request,
                                     v1::TokenizeResponse* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* request,
                                         v1::GetModelInfoResponse* response) override;

 private:
  // Ends a Generate call before it reaches the engine.
  grpc::ServerWriteReactor<v1::GenerateResponse>* Reject(const grpc::Status& status);
  grpc::Status Authenticate(const grpc::CallbackServerContext& context) const;
  grpc::Status DoTokenize(const v1::TokenizeRequest& request, v1::TokenizeResponse& response) const;
  void FillModelInfo(v1::GetModelInfoResponse& response) const;

  Engine& engine_;
  std::optional<std::string> auth_token_;
  GenerateObserver* observer_;
  int64_t stream_buffer_bytes_;
};

}  // namespace glaserve

#endif  // GLASERVE_SERVER_TEXT_GENERATION_SERVICE_H_
