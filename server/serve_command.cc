#include "server/serve_command.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "engine/engine.h"
#include "engine/state_pool.h"
#include "server/metrics/metrics_http_server.h"
#include "server/metrics/registry.h"
#include "server/model_flags.h"
#include "server/port_probe.h"
#include "server/server_metrics.h"
#include "server/text_generation_service.h"

ABSL_FLAG(std::string, host, "0.0.0.0", "Address to listen on for gRPC.");
ABSL_FLAG(int32_t, port, 50051, "gRPC port; 0 picks a free one (printed at start).");
ABSL_FLAG(int32_t, metrics_port, 9400, "Port of the Prometheus /metrics endpoint; 0 picks a free one, -1 disables it.");
ABSL_FLAG(std::string, log_level, "info",
          "debug, info, warning or error; a JSON line per finished request is logged at info.");
ABSL_FLAG(int32_t, max_seqs, 0,
          "Number of state slots (concurrent sequences); 0 sizes them from --state-memory.");
ABSL_FLAG(int64_t, state_memory, 0,
          "Bytes of memory for states; 0 means up to 256 slots within 4 GiB on the CPU backend.");
ABSL_FLAG(int64_t, max_batch_tokens, 2048, "Tokens per engine step (decodes + prompt pieces).");
ABSL_FLAG(int32_t, max_waiting, 256, "Requests that may wait for a slot; beyond that they get RESOURCE_EXHAUSTED.");
ABSL_FLAG(int64_t, max_prompt_tokens, 1 << 20, "Longest prompt accepted, in tokens.");
ABSL_FLAG(int64_t, prefix_cache_bytes, 1LL << 30,
          "Host memory for states after prompt prefixes, reused by prompts that start the same way; 0 turns "
          "the prefix cache off.");
ABSL_FLAG(int64_t, prefix_cache_chunk_tokens, 1024,
          "A prompt leaves a cached state at the last multiple of this many tokens before its end; 0: never.");
ABSL_FLAG(int64_t, prefix_cache_min_tokens, 256, "Shortest prompt prefix worth a cached state.");
ABSL_FLAG(int64_t, session_bytes, 1LL << 30,
          "Host memory for session states (GenerateRequest.session_id); 0 turns sessions off.");
ABSL_FLAG(double, session_ttl, 600, "Seconds a session is kept after its last use.");
ABSL_FLAG(double, drain_timeout, 30, "Seconds running streams get to finish after SIGTERM.");
ABSL_FLAG(int64_t, stream_buffer_bytes, glaserve::kDefaultStreamBufferBytes,
          "Unsent output a stream may hold; when a client reads slower than that, its request "
          "pauses (keeping its slot) until the client catches up.");
ABSL_FLAG(double, stream_stall_timeout, 60,
          "Seconds a stream may stay paused on a client that reads nothing before it is ended "
          "with RESOURCE_EXHAUSTED and its slot freed; 0 waits forever.");
ABSL_FLAG(int64_t, max_receive_message_bytes, 64 << 20,
          "Largest request message accepted (the default fits a 1M-token prompt, or a gla-1.3B fp32 state "
          "of 50.3 MB as initial_state).");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain file; enables TLS with --tls-key.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key file for --tls-cert.");
ABSL_FLAG(std::string, auth_token_file, "",
          "File holding a bearer token; when set, calls must send 'authorization: Bearer <token>'.");

namespace glaserve {
namespace {

constexpr int64_t kDefaultCpuStateMemory = 4LL << 30;
constexpr int32_t kDefaultCpuMaxSeqs = 256;
// A GPU holds far more streams: states are the memory a GLA server spends, and 32 GiB
// leaves room for the weights and activations of the published models on an 80 GB card.
constexpr int64_t kDefaultCudaStateMemory = 32LL << 30;
constexpr int32_t kDefaultCudaMaxSeqs = 1024;
const char kServiceName[] = "glaserve.v1.TextGeneration";

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, const char* flag) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("--", flag, ": cannot read ", path));
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials() {
  const std::string cert = absl::GetFlag(FLAGS_tls_cert), key = absl::GetFlag(FLAGS_tls_key);
  if (cert.empty() && key.empty()) return grpc::InsecureServerCredentials();
  if (cert.empty() || key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key must be given together");
  }
  absl::StatusOr<std::string> cert_pem = ReadSecretFile(cert, "tls-cert");
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ReadSecretFile(key, "tls-key");
  if (!key_pem.ok()) return key_pem.status();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({*key_pem, *cert_pem});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::optional<std::string>> ReadAuthToken() {
  const std::string path = absl::GetFlag(FLAGS_auth_token_file);
  if (path.empty()) return std::optional<std::string>();
  absl::StatusOr<std::string> token = ReadSecretFile(path, "auth-token-file");
  if (!token.ok()) return token.status();
  std::string trimmed(absl::StripAsciiWhitespace(*token));
  if (trimmed.empty()) return absl::InvalidArgumentError(absl::StrCat("--auth-token-file: ", path, " is empty"));
  return std::optional<std::string>(trimmed);
}

int Fail(const absl::Status& status) {
  std::cerr << "glaserve serve: " << status.message() << std::endl;
  return absl::IsInvalidArgument(status) || absl::IsNotFound(status) ? 2 : 1;
}

// Blocks SIGTERM/SIGINT in every thread (call before any thread starts) so that only
// WaitForShutdownSignal receives them.
sigset_t BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

}  // namespace

int RunServeCommand() {
  sigset_t signals = BlockShutdownSignals();

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = MakeCredentials();
  if (!credentials.ok()) return Fail(credentials.status());
  absl::StatusOr<std::optional<std::string>> auth_token = ReadAuthToken();
  if (!auth_token.ok()) return Fail(auth_token.status());

  // Slots: --max-seqs alone sets them; --state-memory sizes them from a byte budget
  // (capped by --max-seqs when both are given). With neither, the CPU backend takes
  // kDefaultCpuMaxSeqs within kDefaultCpuStateMemory: more streams than that only slow
  // each other down on a CPU; the CUDA backend kDefaultCudaMaxSeqs within
  // kDefaultCudaStateMemory.
  absl::StatusOr<ModelConfig> config = LoadModelConfig(ModelDirFromFlags());
  if (!config.ok()) return Fail(config.status());
  const int64_t dtype_bytes = StateDtypeBytes(absl::GetFlag(FLAGS_state_dtype));
  if (dtype_bytes == 0) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--state-dtype=", absl::GetFlag(FLAGS_state_dtype), " is not one of f32, bf16")));
  }
  const int64_t state_bytes = config->state_elements_per_sequence() * dtype_bytes;
  const bool on_gpu = DeviceFromFlags(*config) == "cuda";
  const int32_t max_seqs = absl::GetFlag(FLAGS_max_seqs);
  const int64_t state_memory_flag = absl::GetFlag(FLAGS_state_memory);
  int32_t num_slots;
  if (state_memory_flag > 0) {
    num_slots = SlotsForMemory(state_memory_flag, state_bytes, max_seqs);
  } else if (max_seqs > 0) {
    num_slots = max_seqs;
  } else {
    num_slots = on_gpu ? SlotsForMemory(kDefaultCudaStateMemory, state_bytes, kDefaultCudaMaxSeqs)
                       : SlotsForMemory(kDefaultCpuStateMemory, state_bytes, kDefaultCpuMaxSeqs);
  }
  if (num_slots <= 0) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "--state-memory=", state_memory_flag, " holds no state of ", state_bytes, " bytes")));
  }
  absl::StatusOr<LoadedModel> model = LoadModelFromFlags(num_slots, absl::GetFlag(FLAGS_max_batch_tokens));
  if (!model.ok()) return Fail(model.status());

  EngineOptions options;
  options.max_batch_tokens = absl::GetFlag(FLAGS_max_batch_tokens);
  options.max_waiting = absl::GetFlag(FLAGS_max_waiting);
  options.max_prompt_tokens = absl::GetFlag(FLAGS_max_prompt_tokens);
  if (options.max_batch_tokens <= 0 || options.max_waiting < 0 || options.max_prompt_tokens <= 0) {
    return Fail(absl::InvalidArgumentError(
        "--max-batch-tokens and --max-prompt-tokens must be > 0, --max-waiting >= 0"));
  }
  options.reuse.prefix_cache_bytes = absl::GetFlag(FLAGS_prefix_cache_bytes);
  options.reuse.prefix_cache_chunk_tokens = absl::GetFlag(FLAGS_prefix_cache_chunk_tokens);
  options.reuse.prefix_cache_min_tokens = absl::GetFlag(FLAGS_prefix_cache_min_tokens);
  options.reuse.session_bytes = absl::GetFlag(FLAGS_session_bytes);
  const double session_ttl = absl::GetFlag(FLAGS_session_ttl);
  options.reuse.session_ttl = absl::Seconds(session_ttl);
  if (options.reuse.prefix_cache_bytes < 0 || options.reuse.prefix_cache_chunk_tokens < 0 ||
      options.reuse.prefix_cache_min_tokens < 1 || options.reuse.session_bytes < 0 || !(session_ttl > 0)) {
    return Fail(absl::InvalidArgumentError(
        "--prefix-cache-bytes, --prefix-cache-chunk-tokens and --session-bytes must be >= 0, "
        "--prefix-cache-min-tokens >= 1 and --session-ttl > 0"));
  }
  const double stall_seconds = absl::GetFlag(FLAGS_stream_stall_timeout);
  const int64_t stream_buffer_bytes = absl::GetFlag(FLAGS_stream_buffer_bytes);
  if (!(stall_seconds >= 0) || stream_buffer_bytes <= 0) {
    return Fail(absl::InvalidArgumentError("--stream-stall-timeout must be >= 0, --stream-buffer-bytes > 0"));
  }
  options.stall_timeout = stall_seconds > 0 ? absl::Seconds(stall_seconds) : absl::InfiniteDuration();
  const std::string log_level = absl::GetFlag(FLAGS_log_level);
  if (log_level != "debug" && log_level != "info" && log_level != "warning" && log_level != "error") {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--log-level=", log_level, " is not one of debug, info, warning, error")));
  }
  const std::string model_name = model->name;
  Engine engine(*std::move(model), options);
  metrics::Registry registry;
  ServerMetrics server_metrics(registry, engine, /*log_requests=*/log_level == "debug" || log_level == "info");
  engine.set_observer(&server_metrics);
  std::unique_ptr<metrics::MetricsHttpServer> metrics_server;
  if (absl::GetFlag(FLAGS_metrics_port) >= 0) {
    absl::StatusOr<std::unique_ptr<metrics::MetricsHttpServer>> started =
        metrics::MetricsHttpServer::Start(registry, absl::GetFlag(FLAGS_host), absl::GetFlag(FLAGS_metrics_port));
    if (!started.ok()) return Fail(started.status());
    metrics_server = *std::move(started);
  }
  engine.Start();

  TextGenerationService service(engine, *auth_token, &server_metrics, stream_buffer_bytes);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string address = absl::StrCat(absl::GetFlag(FLAGS_host), ":", absl::GetFlag(FLAGS_port));
  int selected_port = 0;
  builder.AddListeningPort(address, *credentials, &selected_port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<int64_t>(absl::GetFlag(FLAGS_max_receive_message_bytes), INT32_MAX)));
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || selected_port == 0) {
    engine.Stop();
    return Fail(absl::UnavailableError(absl::StrCat("cannot listen on ", address)));
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(kServiceName, true);
  if (metrics_server != nullptr) {
    std::printf("glaserve: metrics on http://%s:%d/metrics\n", absl::GetFlag(FLAGS_host).c_str(),
                metrics_server->port());
  }
  std::printf("glaserve: serving %s (%s, %d slots, %lld bytes of state each) on %s:%d\n",
              model_name.c_str(), engine.model().runner->device_name().c_str(), num_slots,
              static_cast<long long>(engine.model().runner->state_bytes_per_sequence()),
              absl::GetFlag(FLAGS_host).c_str(), selected_port);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  // Drain: refuse new work, tell balancers, let running streams finish.
  std::fprintf(stderr, "glaserve: %s received, draining for up to %.0f s\n",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT", absl::GetFlag(FLAGS_drain_timeout));
  // First stop accepting connections, so a balancer's next connect fails fast and goes to
  // another replica, while calls already running keep their connections until they end.
  // Only once the port is closed do health and the engine turn new work away: whoever sees
  // NOT_SERVING finds the port closed, and no balancer lands a stream here that the
  // service would refuse in-band (an answer, which balancers do not retry elsewhere).
  const double drain_seconds = absl::GetFlag(FLAGS_drain_timeout);
  const auto shutdown_deadline = std::chrono::system_clock::now() +
                                 std::chrono::milliseconds(static_cast<int64_t>(drain_seconds * 1000)) +
                                 std::chrono::seconds(5);  // time for the last writes
  std::thread shutdown([&] { server->Shutdown(shutdown_deadline); });
  if (!WaitUntilPortClosed(absl::GetFlag(FLAGS_host), selected_port, absl::Seconds(2))) {
    std::fprintf(stderr, "glaserve: could not confirm the port closed; draining anyway\n");
  }
  engine.StartDrain();
  health->SetServingStatus("", false);
  health->SetServingStatus(kServiceName, false);
  const bool drained = engine.WaitIdle(absl::Seconds(drain_seconds));
  if (!drained) std::fprintf(stderr, "glaserve: drain timeout passed; ending the remaining streams\n");
  engine.Stop();  // ends what is left with UNAVAILABLE
  shutdown.join();
  if (metrics_server != nullptr) metrics_server->Stop();
  std::fprintf(stderr, "glaserve: stopped\n");
  return 0;
}

}  // namespace glaserve
