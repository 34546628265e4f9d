#include "server/server_metrics.h"

#include <cstdio>

#include "nlohmann/json.hpp"
#include "server/metrics/buckets.h"

namespace glaserve {
namespace {

// LLM latencies span five orders of magnitude: TTFT from 1 ms (a cached short prompt) to
// minutes (a 1M-token prompt on the CPU); inter-token gaps from 0.1 ms (GPU decode) up.
std::vector<double> TtftBuckets() { return metrics::ExponentialBuckets(0.001, 2, 19); }  // 1 ms .. 262 s
std::vector<double> ItlBuckets() { return metrics::ExponentialBuckets(0.0001, 2, 17); }  // 0.1 ms .. 6.5 s
std::vector<double> E2eBuckets() { return metrics::ExponentialBuckets(0.01, 2, 18); }    // 10 ms .. 43 min
std::vector<double> TokenBuckets() { return metrics::ExponentialBuckets(1, 2, 22); }     // 1 .. 2M tokens

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

std::string StatusCodeName(grpc::StatusCode code) {
  static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                                 "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
                                 "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  const int index = static_cast<int>(code);
  return index >= 0 && index < 17 ? kNames[index] : "UNKNOWN";
}

}  // namespace

ServerMetrics::ServerMetrics(metrics::Registry& registry, const Engine& engine, bool log_requests)
    : registry_(registry),
      log_requests_(log_requests),
      requests_(registry.AddCounter("glaserve_requests_total",
                                    "Generate requests ended, by gRPC status and finish reason.",
                                    {"status", "finish_reason"})),
      prompt_tokens_(registry.AddCounter("glaserve_prompt_tokens_total", "Prompt tokens processed.")
                         .WithLabels({})),
      generation_tokens_(registry.AddCounter("glaserve_generation_tokens_total",
                                             "Tokens generated and sent to clients.")
                             .WithLabels({})),
      time_to_first_token_(registry.AddHistogram("glaserve_time_to_first_token_seconds",
                                                 "Time from arrival to the first generated token.",
                                                 TtftBuckets())
                               .WithLabels({})),
      inter_token_latency_(registry.AddHistogram("glaserve_inter_token_latency_seconds",
                                                 "Time between consecutive tokens of a stream.",
                                                 ItlBuckets())
                               .WithLabels({})),
      e2e_latency_(registry.AddHistogram("glaserve_e2e_request_latency_seconds",
                                         "Time from arrival to the end of a request.", E2eBuckets())
                       .WithLabels({})),
      queue_time_(registry.AddHistogram("glaserve_request_queue_time_seconds",
                                        "Time a request waited for a state slot.", TtftBuckets())
                      .WithLabels({})),
      request_prompt_tokens_(registry.AddHistogram("glaserve_request_prompt_tokens",
                                                   "Prompt length of finished requests.", TokenBuckets())
                                 .WithLabels({})),
      request_generation_tokens_(registry.AddHistogram("glaserve_request_generation_tokens",
                                                       "Generated tokens of finished requests.",
                                                       TokenBuckets())
                                     .WithLabels({})),
      step_duration_(registry.AddHistogram("glaserve_step_duration_seconds",
                                           "Engine step time, by phase (prefill, decode or mixed).",
                                           ItlBuckets(), {"phase"})),
      batch_tokens_(registry.AddHistogram("glaserve_batch_tokens",
                                          "Tokens in an engine step, by phase (prefill or decode).",
                                          TokenBuckets(), {"phase"})),
      prefix_cache_hits_(registry.AddCounter("glaserve_prefix_cache_hits_total",
                                             "Requests that started from a cached prompt prefix's state.")
                             .WithLabels({})),
      prefix_cache_misses_(registry.AddCounter("glaserve_prefix_cache_misses_total",
                                               "Requests that found no cached prefix of their prompt.")
                               .WithLabels({})),
      prefix_cache_tokens_saved_(registry.AddCounter("glaserve_prefix_cache_tokens_saved_total",
                                                     "Prompt tokens not prefilled thanks to the prefix cache.")
                                     .WithLabels({})) {
  registry.AddCallbackGauge("glaserve_requests_running", "Requests holding a state slot.",
                            [&engine] { return engine.num_running(); });
  registry.AddCallbackGauge("glaserve_requests_waiting", "Requests waiting for a state slot.",
                            [&engine] { return engine.num_waiting(); });
  registry.AddCallbackGauge("glaserve_state_slots_used", "State slots in use.",
                            [&engine] { return engine.num_slots_used(); });
  registry.AddCallbackGauge("glaserve_state_slots_capacity",
                            "State slots (most concurrent sequences). Not *_total: promtool reserves that suffix for counters.",
                            [&engine] { return engine.num_slots(); });
  registry.AddCallbackGauge("glaserve_state_bytes_per_sequence",
                            "Bytes of one sequence's recurrent state (constant in context length).",
                            [&engine] { return engine.model().runner->state_bytes_per_sequence(); });
  const StateReuse& reuse = engine.reuse();
  registry.AddCallbackGauge("glaserve_prefix_cache_bytes", "Host memory held by the prefix cache.",
                            [&reuse] { return reuse.prefix_cache_bytes(); });
  registry.AddCallbackGauge("glaserve_prefix_cache_capacity_bytes", "The prefix cache's bound (--prefix-cache-bytes).",
                            [&reuse] { return reuse.options().prefix_cache_bytes; });
  registry.AddCallbackGauge("glaserve_prefix_cache_entries", "Prompt prefixes whose state is cached.",
                            [&reuse] { return reuse.prefix_cache_entries(); });
  registry.AddCallbackGauge("glaserve_sessions_live", "Sessions kept (not yet expired or dropped).",
                            [&reuse] { return reuse.num_sessions(absl::Now()); });
  registry.AddCallbackGauge("glaserve_session_bytes", "Host memory held by session states.",
                            [&reuse] { return reuse.session_bytes(); });
  const std::string device = engine.model().runner->device_name();
  registry
      .AddGauge("glaserve_model_info", "The served model; the value is always 1.",
                {"model", "backend", "state_dtype"})
      .WithLabels({engine.model().name, device.rfind("cuda", 0) == 0 ? "cuda" : "cpu", "fp32"})
      .Set(1);
}

void ServerMetrics::OnTokens(int64_t num_tokens, absl::Duration since_last, bool first) {
  generation_tokens_.Increment(num_tokens);
  // The first token's gap is the TTFT, reported on its own.
  if (!first) inter_token_latency_.Observe(Seconds(since_last) / num_tokens);
}

void ServerMetrics::CountRequest(const std::string& status, const std::string& finish_reason) {
  requests_.WithLabels({status, finish_reason}).Increment();
}

void ServerMetrics::OnFinished(const std::string& request_id, const RequestUpdate& update) {
  const RequestTimings& t = update.timings;
  const std::string status = StatusCodeName(static_cast<grpc::StatusCode>(update.status.code()));
  const std::string finish_reason = update.finish_reason ? FinishReasonName(*update.finish_reason) : "none";
  CountRequest(status, finish_reason);
  prompt_tokens_.Increment(update.prompt_tokens);
  request_prompt_tokens_.Observe(update.prompt_tokens);
  request_generation_tokens_.Observe(update.completion_tokens);
  e2e_latency_.Observe(Seconds(t.finished - t.arrival));
  const bool admitted = t.admitted != absl::InfinitePast();
  if (admitted) queue_time_.Observe(Seconds(t.admitted - t.arrival));
  const bool any_token = t.first_token != absl::InfinitePast();
  if (any_token) time_to_first_token_.Observe(Seconds(t.first_token - t.arrival));
  if (!log_requests_) return;
  nlohmann::json line = {{"event", "request_finished"},
                         {"request_id", request_id},
                         {"status", status},
                         {"finish_reason", finish_reason},
                         {"prompt_tokens", update.prompt_tokens},
                         {"cached_prompt_tokens", update.cached_prompt_tokens},
                         {"generated_tokens", update.completion_tokens},
                         {"queue_seconds", admitted ? Seconds(t.admitted - t.arrival) : 0.0},
                         {"ttft_seconds", any_token ? nlohmann::json(Seconds(t.first_token - t.arrival)) : nullptr},
                         {"e2e_seconds", Seconds(t.finished - t.arrival)}};
  if (!update.status.ok()) line["error"] = std::string(update.status.message());
  std::fprintf(stderr, "%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void ServerMetrics::OnRejected(const grpc::Status& status) {
  CountRequest(StatusCodeName(status.error_code()), "none");
}

void ServerMetrics::OnStep(const StepStats& stats) {
  const char* phase = stats.num_prefill_tokens == 0  ? "decode"
                      : stats.num_decode_tokens == 0 ? "prefill"
                                                     : "mixed";
  step_duration_.WithLabels({phase}).Observe(Seconds(stats.duration));
  if (stats.num_prefill_tokens > 0) batch_tokens_.WithLabels({"prefill"}).Observe(stats.num_prefill_tokens);
  if (stats.num_decode_tokens > 0) batch_tokens_.WithLabels({"decode"}).Observe(stats.num_decode_tokens);
  if (stats.prefix_cache.num_hits > 0) prefix_cache_hits_.Increment(stats.prefix_cache.num_hits);
  if (stats.prefix_cache.num_misses > 0) prefix_cache_misses_.Increment(stats.prefix_cache.num_misses);
  if (stats.prefix_cache.num_tokens_saved > 0) prefix_cache_tokens_saved_.Increment(stats.prefix_cache.num_tokens_saved);
}

}  // namespace glaserve
