#include "server/text_generation_service.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "server/grpc_status.h"
#include "server/request_conversion.h"

namespace glaserve {
namespace {

// A reactor that finishes at once: for refusals before any work starts.
class FinishedWriteReactor : public grpc::ServerWriteReactor<v1::GenerateResponse> {
 public:
  explicit FinishedWriteReactor(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

// Constant-time comparison: the time a mismatch takes does not leak the token's prefix.
bool SecretEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string MakeRequestId() {
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat("req-", absl::ToUnixMicros(absl::Now()), "-", counter.fetch_add(1));
}

}  // namespace

TextGenerationService::TextGenerationService(Engine& engine, std::optional<std::string> auth_token,
                                             GenerateObserver* observer, int64_t stream_buffer_bytes)
    : engine_(engine),
      auth_token_(std::move(auth_token)),
      observer_(observer),
      stream_buffer_bytes_(stream_buffer_bytes) {}

grpc::Status TextGenerationService::Authenticate(const grpc::CallbackServerContext& context) const {
  if (!auth_token_) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing authorization metadata (Bearer token)");
  }
  const std::string_view value(it->second.data(), it->second.size());
  constexpr std::string_view kBearer = "Bearer ";
  if (value.substr(0, kBearer.size()) != kBearer || !SecretEquals(value.substr(kBearer.size()), *auth_token_)) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "invalid bearer token");
  }
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<v1::GenerateResponse>* TextGenerationService::Reject(const grpc::Status& status) {
  if (observer_ != nullptr) observer_->OnRejected(status);
  return new FinishedWriteReactor(status);
}

grpc::ServerWriteReactor<v1::GenerateResponse>* TextGenerationService::Generate(
    grpc::CallbackServerContext* context, const v1::GenerateRequest* request) {
  if (grpc::Status auth = Authenticate(*context); !auth.ok()) return Reject(auth);
  absl::StatusOr<GenerationRequest> converted = ToGenerationRequest(*request, engine_.model().tokenizer.get());
  if (!converted.ok()) return Reject(ToGrpcStatus(converted.status()));
  if (converted->request_id.empty()) converted->request_id = MakeRequestId();
  // The engine frees the slot at the deadline even if the client never notices.
  const std::chrono::system_clock::time_point deadline = context->deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) {
    converted->deadline = absl::FromChrono(deadline);
  }
  return new GenerateReactor(engine_, *std::move(converted), observer_, stream_buffer_bytes_);
}

grpc::Status TextGenerationService::DoTokenize(const v1::TokenizeRequest& request,
                                               v1::TokenizeResponse& response) const {
  const Tokenizer* tokenizer = engine_.model().tokenizer.get();
  if (tokenizer == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "this model has no tokenizer");
  }
  const bool has_text = request.has_text();
  const bool has_ids = request.token_ids_size() > 0;
  if (has_text == has_ids) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "give exactly one of text and token_ids");
  }
  if (has_text) {
    std::vector<int32_t> ids =
        request.add_bos() ? tokenizer->Encode(request.text()) : tokenizer->EncodeWithoutBos(request.text());
    response.mutable_token_ids()->Assign(ids.begin(), ids.end());
    response.set_text(request.text());
    return grpc::Status::OK;
  }
  const int32_t vocab = engine_.model().config.vocab_size;
  for (int i = 0; i < request.token_ids_size(); ++i) {
    const int32_t id = request.token_ids(i);
    if (id < 0 || id >= vocab) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("token_ids[", i, "]=", id, " is outside the vocabulary [0, ", vocab, ")"));
    }
  }
  *response.mutable_token_ids() = request.token_ids();
  std::vector<int32_t> ids(request.token_ids().begin(), request.token_ids().end());
  response.set_text(tokenizer->Decode(ids));
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* TextGenerationService::Tokenize(grpc::CallbackServerContext* context,
                                                          const v1::TokenizeRequest* request,
                                                          v1::TokenizeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::Status status = Authenticate(*context);
  if (status.ok()) status = DoTokenize(*request, *response);
  reactor->Finish(status);
  return reactor;
}

void TextGenerationService::FillModelInfo(v1::GetModelInfoResponse& response) const {
  const LoadedModel& model = engine_.model();
  const ModelConfig& c = model.config;
  response.set_model_name(model.name);
  v1::ModelConfig* config = response.mutable_config();
  config->set_hidden_size(c.hidden_size);
  config->set_num_hidden_layers(c.num_hidden_layers);
  config->set_num_heads(c.num_heads);
  config->set_num_kv_heads(c.num_kv_heads);
  config->set_head_k_dim(c.head_k_dim);
  config->set_head_v_dim(c.head_v_dim);
  config->set_intermediate_size(c.intermediate_size);
  config->set_bos_token_id(c.bos_token_id);
  config->set_eos_token_id(c.eos_token_id);
  response.set_vocab_size(c.vocab_size);
  response.set_state_bytes_per_sequence(model.runner->state_bytes_per_sequence());
  response.set_slots_total(engine_.num_slots());
  response.set_slots_in_use(engine_.num_slots_used());
  response.set_requests_waiting(engine_.num_waiting());
  const std::string device = model.runner->device_name();
  response.set_backend(device.rfind("cuda", 0) == 0 ? "cuda" : "cpu");
  response.set_device(device);
  response.set_max_prompt_tokens(static_cast<int32_t>(engine_.options().max_prompt_tokens));
  response.set_has_tokenizer(model.tokenizer != nullptr);
}

grpc::ServerUnaryReactor* TextGenerationService::GetModelInfo(grpc::CallbackServerContext* context,
                                                              const v1::GetModelInfoRequest*,
                                                              v1::GetModelInfoResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::Status status = Authenticate(*context);
  if (status.ok()) FillModelInfo(*response);
  reactor->Finish(status);
  return reactor;
}

}  // namespace glaserve
