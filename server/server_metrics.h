// glaserve's Prometheus metrics (DESIGN.md section 7): request counters and latency
// histograms fed by the streams, step histograms fed by the engine, and gauges read from
// the engine at scrape time. Also writes the one-line JSON log of each finished request.
#ifndef GLASERVE_SERVER_SERVER_METRICS_H_
#define GLASERVE_SERVER_SERVER_METRICS_H_

#include <string>

#include "engine/engine.h"
#include "server/generate_reactor.h"
#include "server/metrics/registry.h"

namespace glaserve {

class ServerMetrics : public GenerateObserver, public EngineObserver {
 public:
  // Registers every family in `registry`; the gauges read `engine` until it is destroyed,
  // so the registry must not be rendered after that. `log_requests`: write a JSON line
  // per finished request to stderr.
  ServerMetrics(metrics::Registry& registry, const Engine& engine, bool log_requests);

  // GenerateObserver (engine thread, or the network thread for rejections).
  void OnTokens(int64_t num_tokens, absl::Duration since_last, bool first) override;
  void OnFinished(const std::string& request_id, const RequestUpdate& final_update) override;
  void OnRejected(const grpc::Status& status) override;
  // EngineObserver (engine thread).
  void OnStep(const StepStats& stats) override;

 private:
  void CountRequest(const std::string& status, const std::string& finish_reason);

  metrics::Registry& registry_;
  bool log_requests_;
  metrics::Family<metrics::Counter>& requests_;
  metrics::Counter& prompt_tokens_;
  metrics::Counter& generation_tokens_;
  metrics::Histogram& time_to_first_token_;
  metrics::Histogram& inter_token_latency_;
  metrics::Histogram& e2e_latency_;
  metrics::Histogram& queue_time_;
  metrics::Histogram& request_prompt_tokens_;
  metrics::Histogram& request_generation_tokens_;
  metrics::Family<metrics::Histogram>& step_duration_;
  metrics::Family<metrics::Histogram>& batch_tokens_;
  metrics::Counter& prefix_cache_hits_;
  metrics::Counter& prefix_cache_misses_;
  metrics::Counter& prefix_cache_tokens_saved_;
};

}  // namespace glaserve

#endif  // GLASERVE_SERVER_SERVER_METRICS_H_
