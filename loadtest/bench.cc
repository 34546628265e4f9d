#include "loadtest/bench.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "loadtest/plots.h"
#include "loadtest/prompt_text_builder.h"
#include "loadtest/prompt_tokenizer.h"
#include "loadtest/report_json.h"
#include "loadtest/report_table.h"

namespace glaserve::loadtest {

namespace {

// Set by the first Ctrl-C: stop sending, let the streams in flight finish, report. The
// handler resets itself, so a second Ctrl-C ends the process at once.
std::atomic<bool> interrupted{false};

void OnInterrupt(int) { interrupted = true; }

void CatchInterrupt() {
  struct sigaction action = {};
  action.sa_handler = OnInterrupt;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
}

// Seed streams of the arrival times, apart from the requests' (workload.h).
constexpr uint64_t kArrivalStream = 1ULL << 61;
// Text prompts are built by this many concurrent Tokenize callers.
constexpr int kPromptBuilderThreads = 8;

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm utc;
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace

int Bench::Run() {
  started_at_ = UtcNow();
  if (absl::Status s = Connect(); !s.ok()) {
    std::fprintf(stderr, "glaserve-bench: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  if (absl::Status s = PrepareWorkload(); !s.ok()) {
    std::fprintf(stderr, "glaserve-bench: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  std::vector<std::unique_ptr<v1::TextGeneration::Stub>> stubs;
  for (const auto& channel : channels_) stubs.push_back(v1::TextGeneration::NewStub(channel));
  LoadRunner runner(std::move(stubs), config_.call, [this](int64_t index) { return MakeRequest(index); });
  runner.set_stop_flag(&interrupted);
  CatchInterrupt();

  if (config_.warmup_requests > 0) {
    // A closed loop at the first level's load, whose streams are not counted.
    const LoadLevel& first = config_.levels.front();
    LoadLevel warmup;
    warmup.concurrency = first.open_loop() ? std::max(1, first.concurrency) : first.concurrency;
    warmup.num_requests = config_.warmup_requests;
    std::fprintf(stderr, "warm-up: %lld requests at concurrency %d\n", static_cast<long long>(warmup.num_requests),
                 warmup.concurrency);
    LevelRun run = runner.Run(warmup, 0);
    int64_t failed = 0;
    for (const StreamRecord& r : run.records) failed += !r.ok();
    if (failed > 0) std::fprintf(stderr, "warm-up: %lld requests failed\n", static_cast<long long>(failed));
  }

  std::vector<LevelRun> runs;
  std::vector<Report> levels;
  for (size_t i = 0; i < config_.levels.size() && !interrupted; ++i) {
    const LoadLevel& level = config_.levels[i];
    std::fprintf(stderr, "level %s: %s\n", level.Name().c_str(),
                 level.num_requests > 0 ? absl::StrCat(level.num_requests, " requests").c_str()
                                        : absl::StrCat(level.duration_seconds, " s").c_str());
    runs.push_back(runner.Run(level, DeriveSeed(config_.workload.seed, kArrivalStream + i)));
    levels.push_back(BuildLevelReport(runs.back(), config_.slo, config_.itl_buckets));
    std::fprintf(stderr, "level %s: %lld completed, %lld failed in %.2f s\n", level.Name().c_str(),
                 static_cast<long long>(levels.back().requests_completed),
                 static_cast<long long>(levels.back().requests_failed), levels.back().duration_seconds);
  }
  if (interrupted) std::fprintf(stderr, "interrupted: reporting the requests sent so far\n");
  const Report total = BuildTotalReport(runs, config_.slo, config_.itl_buckets);

  std::cout << FormatTables(levels, total) << std::flush;
  int exit_status = interrupted ? 130 : total.requests_failed > 0 ? 3 : 0;
  if (!config_.report_path.empty()) {
    std::ofstream out(config_.report_path);
    out << RunToJson(RunInfo(), total, levels).dump(2) << "\n";
    out.close();
    if (!out) {
      std::fprintf(stderr, "glaserve-bench: cannot write %s\n", config_.report_path.c_str());
      exit_status = 1;
    }
  }
  if (!config_.plot_dir.empty()) {
    if (absl::Status s = WritePlots(config_.plot_dir, levels, total); !s.ok()) {
      std::fprintf(stderr, "glaserve-bench: plots: %s\n", std::string(s.message()).c_str());
    }
  }
  return exit_status;
}

absl::Status Bench::Connect() {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (config_.tls) {
    grpc::SslCredentialsOptions options;
    if (!config_.tls_ca_file.empty()) {
      options.pem_root_certs = ReadFileOrEmpty(config_.tls_ca_file);
      if (options.pem_root_certs.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("--tls-ca: cannot read ", config_.tls_ca_file));
      }
    }
    credentials = grpc::SslCredentials(options);
  }
  if (!config_.auth_token.empty()) {
    config_.call.metadata.emplace_back("authorization", absl::StrCat("Bearer ", config_.auth_token));
  }
  for (int32_t i = 0; i < config_.connections; ++i) {
    grpc::ChannelArguments args;
    // Tokenize answers for very long prompts exceed the default 4 MB.
    args.SetMaxReceiveMessageSize(-1);
    // Channels with distinct arguments and their own subchannel pool get a connection each.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("glaserve.bench.connection", i);
    channels_.push_back(grpc::CreateCustomChannel(config_.target, credentials, args));
  }
  auto stub = v1::TextGeneration::NewStub(channels_.front());
  grpc::ClientContext context;
  context.set_wait_for_ready(true);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(config_.connect_timeout_seconds * 1000)));
  for (const auto& [key, value] : config_.call.metadata) context.AddMetadata(key, value);
  grpc::Status status = stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &model_);
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("GetModelInfo on ", config_.target, " failed: ", status.error_message()));
  }
  std::fprintf(stderr, "model %s on %s (%s), %d state slots, vocabulary %d\n", model_.model_name().c_str(),
               config_.target.c_str(), model_.device().c_str(), model_.slots_total(), model_.vocab_size());
  return absl::OkStatus();
}

std::optional<int64_t> Bench::TotalRequests() const {
  int64_t total = config_.warmup_requests;
  for (const LoadLevel& level : config_.levels) {
    if (level.num_requests == 0) return std::nullopt;
    total += level.num_requests;
  }
  return total;
}

absl::Status Bench::PrepareWorkload() {
  const WorkloadOptions& options = config_.workload;
  const int64_t longest = std::max(options.prompt_lengths.max(), options.shared_prefix_tokens);
  if (model_.max_prompt_tokens() > 0 && longest > model_.max_prompt_tokens()) {
    return absl::InvalidArgumentError(absl::StrCat("prompts of up to ", longest,
                                                   " tokens exceed the server's limit of ", model_.max_prompt_tokens(),
                                                   " (its --max-prompt-tokens)"));
  }
  workload_ =
      std::make_unique<Workload>(options, model_.vocab_size(),
                                 std::vector<int32_t>{model_.config().bos_token_id(), model_.config().eos_token_id()});
  if (config_.prompt_format == PromptFormat::kText) {
    if (!model_.has_tokenizer()) {
      return absl::FailedPreconditionError("--prompt-format text: the model has no tokenizer; use ids");
    }
    return BuildTextPrompts(TotalRequests().value_or(config_.prompt_pool));
  }
  return absl::OkStatus();
}

absl::Status Bench::BuildTextPrompts(int64_t count) {
  std::fprintf(stderr, "building %lld text prompts of exact token lengths\n", static_cast<long long>(count));
  RpcPromptTokenizer tokenizer(channels_.front(), config_.call.metadata);
  absl::StatusOr<PromptTextBuilder> builder = PromptTextBuilder::Create(tokenizer);
  if (!builder.ok()) return builder.status();
  std::string prefix;
  if (config_.workload.shared_prefix_tokens > builder->num_bos()) {
    Random random(DeriveSeed(config_.workload.seed, kArrivalStream - 1));
    absl::StatusOr<std::string> built = builder->Build("", config_.workload.shared_prefix_tokens, random);
    if (!built.ok()) return built.status();
    prefix = *std::move(built);
  }
  text_prompts_.assign(count, "");
  std::atomic<int64_t> next{0};
  std::mutex mutex;
  absl::Status first_error;
  auto work = [&] {
    for (int64_t i = next++; i < count; i = next++) {
      const RequestSpec spec = workload_->Spec(i);
      Random random(spec.prompt_seed);
      absl::StatusOr<std::string> text = builder->Build(prefix, spec.prompt_tokens, random);
      std::lock_guard<std::mutex> lock(mutex);
      if (!text.ok()) {
        if (first_error.ok()) first_error = text.status();
        return;
      }
      text_prompts_[i] = *std::move(text);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::min<int64_t>(kPromptBuilderThreads, count); ++t) threads.emplace_back(work);
  for (std::thread& thread : threads) thread.join();
  return first_error;
}

PreparedRequest Bench::MakeRequest(int64_t index) const {
  const bool text = config_.prompt_format == PromptFormat::kText;
  const RequestSpec spec = workload_->Spec(text ? index % static_cast<int64_t>(text_prompts_.size()) : index);
  PreparedRequest prepared;
  v1::GenerateRequest& request = prepared.request;
  request.set_request_id(absl::StrCat("bench-", index));
  if (text) {
    request.set_prompt(text_prompts_[spec.index]);
  } else {
    const std::vector<int32_t> ids = workload_->PromptTokenIds(spec);
    request.mutable_prompt_token_ids()->Assign(ids.begin(), ids.end());
  }
  v1::SamplingParams& sampling = *request.mutable_sampling();
  sampling.set_max_tokens(spec.max_tokens);
  sampling.set_ignore_eos(config_.ignore_eos);
  sampling.set_temperature(static_cast<float>(config_.temperature));
  sampling.set_seed(spec.sampling_seed);
  prepared.record.prompt_tokens = spec.prompt_tokens;
  prepared.record.max_tokens = spec.max_tokens;
  prepared.record.ignore_eos = config_.ignore_eos;
  return prepared;
}

nlohmann::json Bench::RunInfo() const {
  nlohmann::json levels = nlohmann::json::array();
  for (const LoadLevel& level : config_.levels) levels.push_back(level.Name());
  const WorkloadOptions& w = config_.workload;
  return {
      {"tool", "glaserve-bench"},
      {"started_at", started_at_},
      {"target", config_.target},
      {"interrupted", interrupted.load()},
      {"model",
       {{"name", model_.model_name()},
        {"backend", model_.backend()},
        {"device", model_.device()},
        {"vocab_size", model_.vocab_size()},
        {"slots_total", model_.slots_total()},
        {"state_bytes_per_sequence", model_.state_bytes_per_sequence()},
        {"max_prompt_tokens", model_.max_prompt_tokens()}}},
      {"config",
       {{"preset", config_.preset},
        {"levels", levels},
        {"load", config_.levels.front().open_loop() ? "open" : "closed"},
        {"burstiness", config_.levels.front().burstiness},
        {"num_requests_per_level", config_.levels.front().num_requests},
        {"duration_seconds_per_level", config_.levels.front().duration_seconds},
        {"warmup_requests", config_.warmup_requests},
        {"prompt_tokens", w.prompt_lengths.Describe()},
        {"output_tokens", w.output_lengths.Describe()},
        {"shared_prefix_tokens", w.shared_prefix_tokens},
        {"prompt_format", config_.prompt_format == PromptFormat::kText ? "text" : "ids"},
        {"ignore_eos", config_.ignore_eos},
        {"temperature", config_.temperature},
        {"request_timeout_seconds", config_.call.timeout_seconds},
        {"connections", config_.connections},
        {"seed", w.seed}}},
  };
}

}  // namespace glaserve::loadtest
