#include "loadtest/bench_flags.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "loadtest/presets.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "The server, host:port.");
ABSL_FLAG(bool, tls, false, "Connect with TLS (system root certificates unless --tls-ca).");
ABSL_FLAG(std::string, tls_ca, "", "PEM file of root certificates for --tls.");
ABSL_FLAG(std::string, auth_token_file, "", "File holding a bearer token sent with every call.");
ABSL_FLAG(int32_t, connections, 1, "gRPC connections (HTTP/2) to spread the streams over.");
ABSL_FLAG(double, connect_timeout, 10, "Seconds to wait for the server to answer GetModelInfo.");

ABSL_FLAG(std::string, preset, "",
          "A named workload: ci, chat, long-8k, long-32k, long-128k, long-mix. It sets the "
          "prompt/output lengths, concurrency and request count that the command line leaves out.");
ABSL_FLAG(std::vector<std::string>, concurrency, {"1"},
          "Closed loop: streams kept in flight. A list (1,4,16) sweeps: one level per value.");
ABSL_FLAG(std::vector<std::string>, rate, {},
          "Open loop: requests per second, Poisson arrivals. A list (1,2,4) sweeps. Instead of --concurrency "
          "(--max-concurrency caps the streams in flight).");
ABSL_FLAG(double, burstiness, 1.0,
          "Open loop: gamma shape of inter-arrival times; 1 is Poisson, < 1 burstier, > 1 steadier.");
ABSL_FLAG(int32_t, max_concurrency, 0, "Open loop: the most streams in flight (0: no cap); arrivals beyond wait.");
ABSL_FLAG(int64_t, num_requests, 100, "Requests per level (ignored with --duration).");
ABSL_FLAG(double, duration, 0, "Seconds each level sends requests for; in-flight ones then finish.");
ABSL_FLAG(int64_t, warmup_requests, 0, "Requests sent first, at the first level's load, and not counted.");

ABSL_FLAG(int32_t, prompt_tokens, 128, "Prompt length in tokens (the mean with --prompt-tokens-spread).");
ABSL_FLAG(double, prompt_tokens_spread, 0,
          "Prompt lengths uniform in prompt_tokens * [1 - spread, 1 + spread]; 0 is fixed.");
ABSL_FLAG(std::string, prompt_tokens_file, "", "Draw prompt lengths from this file (one per line).");
ABSL_FLAG(int32_t, output_tokens, 128, "Output tokens per request (max_tokens).");
ABSL_FLAG(double, output_tokens_spread, 0, "Output lengths uniform in output_tokens * [1 - spread, 1 + spread].");
ABSL_FLAG(std::string, output_tokens_file, "", "Draw output lengths from this file (one per line).");
ABSL_FLAG(int32_t, shared_prefix_tokens, 0, "The first this many prompt tokens are the same in every request.");
ABSL_FLAG(std::string, prompt_format, "ids",
          "ids: random token ids; text: English words of exactly the prompt's length in tokens "
          "(built with the server's Tokenize before the run).");
ABSL_FLAG(int64_t, prompt_pool, 256, "With --duration and text prompts: distinct prompts built ahead and reused.");
ABSL_FLAG(bool, ignore_eos, true, "Generate exactly --output-tokens tokens (checked on every stream).");
ABSL_FLAG(double, temperature, 1.0, "Sampling temperature; 0 is greedy.");
ABSL_FLAG(double, request_timeout, 0, "Deadline of each request in seconds; 0 is none.");
ABSL_FLAG(uint64_t, seed, 0, "Seed of lengths, prompts, arrival times and sampling: same seed, same load.");

ABSL_FLAG(double, slo_ttft, 0, "Goodput SLO: time to first token at most this many seconds (0: none).");
ABSL_FLAG(double, slo_tpot, 0, "Goodput SLO: time per output token at most this many seconds (0: none).");
ABSL_FLAG(int32_t, itl_buckets, 10, "Rows of the ITL vs position and vs prompt length tables.");
ABSL_FLAG(std::string, report, "", "Write the JSON report here.");
ABSL_FLAG(std::string, plot_dir, "", "Write PNG plots (gnuplot) and their data here.");

namespace glaserve::loadtest {

const char kBenchUsage[] =
    "load-test a glaserve server's streaming Generate.\n"
    "  glaserve-bench --target HOST:PORT [--concurrency 1,4,16 | --rate 2,4] [--num-requests N | --duration S]\n"
    "                 [--prompt-tokens N] [--output-tokens N] [--preset long-32k] [--report FILE]\n"
    "Exit status: 0 all requests succeeded, 3 some failed, 1 the run could not start, 2 bad flags,\n"
    "130 interrupted (Ctrl-C stops sending, lets streams in flight finish, and reports).\n"
    "Run with --helpfull for every flag.";

namespace {

absl::Status FlagError(const char* flag, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", message));
}

absl::StatusOr<LengthDistribution> Lengths(const char* flag, int32_t mean, double spread, const std::string& file) {
  if (!file.empty()) {
    absl::StatusOr<LengthDistribution> d = LengthDistribution::FromFile(file);
    if (!d.ok()) return FlagError(flag, std::string(d.status().message()));
    return d;
  }
  absl::StatusOr<LengthDistribution> d = LengthDistribution::Uniform(mean, spread);
  if (!d.ok()) return FlagError(flag, std::string(d.status().message()));
  return d;
}

}  // namespace

absl::StatusOr<BenchConfig> BenchConfigFromFlags(const std::set<std::string>& given) {
  BenchConfig config;
  auto is_given = [&](const char* name) { return given.count(name) > 0; };

  // A preset supplies what the command line leaves out.
  int32_t prompt_tokens = absl::GetFlag(FLAGS_prompt_tokens);
  double prompt_spread = absl::GetFlag(FLAGS_prompt_tokens_spread);
  std::vector<int32_t> prompt_list;
  int32_t output_tokens = absl::GetFlag(FLAGS_output_tokens);
  std::vector<std::string> concurrency = absl::GetFlag(FLAGS_concurrency);
  int64_t num_requests = absl::GetFlag(FLAGS_num_requests);
  config.preset = absl::GetFlag(FLAGS_preset);
  if (!config.preset.empty()) {
    const Preset* preset = FindPreset(config.preset);
    if (preset == nullptr) {
      std::vector<std::string> names;
      for (const Preset& p : Presets()) names.push_back(p.name);
      return FlagError("preset",
                       absl::StrCat("unknown preset '", config.preset, "'; one of ", absl::StrJoin(names, ", ")));
    }
    if (!is_given("prompt_tokens") && !is_given("prompt_tokens_file")) {
      if (preset->prompt_tokens.size() == 1) {
        prompt_tokens = preset->prompt_tokens[0];
      } else {
        prompt_list = preset->prompt_tokens;
      }
      if (!is_given("prompt_tokens_spread")) prompt_spread = preset->prompt_tokens_spread;
    }
    if (!is_given("output_tokens")) output_tokens = preset->output_tokens;
    if (!is_given("concurrency")) concurrency = {std::to_string(preset->concurrency)};
    if (!is_given("num_requests")) num_requests = preset->num_requests;
  }

  config.target = absl::GetFlag(FLAGS_target);
  config.tls = absl::GetFlag(FLAGS_tls);
  config.tls_ca_file = absl::GetFlag(FLAGS_tls_ca);
  if (const std::string path = absl::GetFlag(FLAGS_auth_token_file); !path.empty()) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return FlagError("auth-token-file", absl::StrCat("cannot read ", path));
    config.auth_token = text.str();
    while (!config.auth_token.empty() && std::isspace(static_cast<unsigned char>(config.auth_token.back()))) {
      config.auth_token.pop_back();
    }
  }
  config.connections = absl::GetFlag(FLAGS_connections);
  if (config.connections < 1) return FlagError("connections", "must be >= 1");
  config.connect_timeout_seconds = absl::GetFlag(FLAGS_connect_timeout);

  // The levels.
  const double duration = absl::GetFlag(FLAGS_duration);
  if (duration < 0) return FlagError("duration", "must be >= 0");
  if (duration == 0 && num_requests < 1) return FlagError("num-requests", "must be >= 1 (or give --duration)");
  const double burstiness = absl::GetFlag(FLAGS_burstiness);
  if (!(burstiness > 0)) return FlagError("burstiness", "must be > 0");
  const std::vector<std::string> rates = absl::GetFlag(FLAGS_rate);
  if (!rates.empty() && is_given("concurrency")) {
    return FlagError("rate", "give --rate or --concurrency, not both (--max-concurrency caps an open loop)");
  }
  LoadLevel base;
  base.num_requests = duration > 0 ? 0 : num_requests;
  base.duration_seconds = duration;
  base.burstiness = burstiness;
  for (const std::string& text : rates) {
    LoadLevel level = base;
    if (!absl::SimpleAtod(text, &level.rate) || !(level.rate > 0)) {
      return FlagError("rate", absl::StrCat("'", text, "' is not a rate > 0"));
    }
    level.concurrency = absl::GetFlag(FLAGS_max_concurrency);
    if (level.concurrency < 0) return FlagError("max-concurrency", "must be >= 0");
    config.levels.push_back(level);
  }
  if (rates.empty()) {
    for (const std::string& text : concurrency) {
      LoadLevel level = base;
      if (!absl::SimpleAtoi(text, &level.concurrency) || level.concurrency < 1) {
        return FlagError("concurrency", absl::StrCat("'", text, "' is not a count >= 1"));
      }
      config.levels.push_back(level);
    }
  }
  if (config.levels.empty()) return FlagError("concurrency", "give at least one value");
  config.warmup_requests = absl::GetFlag(FLAGS_warmup_requests);
  if (config.warmup_requests < 0) return FlagError("warmup-requests", "must be >= 0");

  // The workload.
  absl::StatusOr<LengthDistribution> prompts =
      prompt_list.empty()
          ? Lengths("prompt-tokens", prompt_tokens, prompt_spread, absl::GetFlag(FLAGS_prompt_tokens_file))
          : LengthDistribution::FromList(prompt_list);
  if (!prompts.ok()) return prompts.status();
  absl::StatusOr<LengthDistribution> outputs =
      Lengths("output-tokens", output_tokens, absl::GetFlag(FLAGS_output_tokens_spread),
              absl::GetFlag(FLAGS_output_tokens_file));
  if (!outputs.ok()) return outputs.status();
  config.workload.prompt_lengths = *std::move(prompts);
  config.workload.output_lengths = *std::move(outputs);
  config.workload.shared_prefix_tokens = absl::GetFlag(FLAGS_shared_prefix_tokens);
  if (config.workload.shared_prefix_tokens < 0) return FlagError("shared-prefix-tokens", "must be >= 0");
  config.workload.seed = absl::GetFlag(FLAGS_seed);
  const std::string format = absl::GetFlag(FLAGS_prompt_format);
  if (format == "ids") {
    config.prompt_format = PromptFormat::kTokenIds;
  } else if (format == "text") {
    config.prompt_format = PromptFormat::kText;
  } else {
    return FlagError("prompt-format", absl::StrCat("'", format, "' is not ids or text"));
  }
  config.prompt_pool = absl::GetFlag(FLAGS_prompt_pool);
  if (config.prompt_pool < 1) return FlagError("prompt-pool", "must be >= 1");
  config.ignore_eos = absl::GetFlag(FLAGS_ignore_eos);
  config.temperature = absl::GetFlag(FLAGS_temperature);
  config.call.timeout_seconds = absl::GetFlag(FLAGS_request_timeout);

  config.slo.ttft_seconds = absl::GetFlag(FLAGS_slo_ttft);
  config.slo.tpot_seconds = absl::GetFlag(FLAGS_slo_tpot);
  config.itl_buckets = absl::GetFlag(FLAGS_itl_buckets);
  if (config.itl_buckets < 1) return FlagError("itl-buckets", "must be >= 1");
  config.report_path = absl::GetFlag(FLAGS_report);
  config.plot_dir = absl::GetFlag(FLAGS_plot_dir);
  return config;
}

}  // namespace glaserve::loadtest
