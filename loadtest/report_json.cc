#include "loadtest/report_json.h"

namespace glaserve::loadtest {

namespace {

nlohmann::json BucketsToJson(const std::vector<ItlBucket>& buckets, const char* x_name) {
  nlohmann::json rows = nlohmann::json::array();
  for (const ItlBucket& b : buckets) {
    nlohmann::json row = SummaryToJson(b.itl_seconds);
    row[std::string(x_name) + "_min"] = b.x_min;
    row[std::string(x_name) + "_max"] = b.x_max;
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

nlohmann::json SummaryToJson(const Summary& s) {
  return {{"count", s.count}, {"mean", s.mean}, {"min", s.min}, {"p50", s.p50},
          {"p90", s.p90},     {"p99", s.p99},   {"max", s.max}};
}

nlohmann::json ReportToJson(const Report& r) {
  nlohmann::json j;
  j["name"] = r.name;
  j["requests_sent"] = r.requests_sent;
  j["requests_completed"] = r.requests_completed;
  j["requests_failed"] = r.requests_failed;
  j["errors_by_status"] = r.errors_by_status;
  j["validation_errors"] = r.validation_errors;
  j["error_examples"] = r.error_examples;
  j["prompt_tokens"] = r.prompt_tokens;
  j["cached_prompt_tokens"] = r.cached_prompt_tokens;
  j["output_tokens"] = r.output_tokens;
  j["duration_seconds"] = r.duration_seconds;
  j["requests_per_second"] = r.requests_per_second;
  j["prompt_tokens_per_second"] = r.prompt_tokens_per_second;
  j["output_tokens_per_second"] = r.output_tokens_per_second;
  j["slo"] = {{"ttft_seconds", r.slo.ttft_seconds}, {"tpot_seconds", r.slo.tpot_seconds}};
  j["requests_within_slo"] = r.requests_within_slo;
  j["goodput_requests_per_second"] = r.goodput_requests_per_second;
  j["ttft_seconds"] = SummaryToJson(r.ttft_seconds);
  j["itl_seconds"] = SummaryToJson(r.itl_seconds);
  j["tpot_seconds"] = SummaryToJson(r.tpot_seconds);
  j["e2e_seconds"] = SummaryToJson(r.e2e_seconds);
  j["prompt_tokens_per_request"] = SummaryToJson(r.prompt_tokens_per_request);
  j["output_tokens_per_request"] = SummaryToJson(r.output_tokens_per_request);
  j["itl_vs_position"] = BucketsToJson(r.itl_vs_position, "position");
  j["itl_vs_prompt_tokens"] = BucketsToJson(r.itl_vs_prompt_tokens, "prompt_tokens");
  j["itl_slope_seconds_per_1k_positions"] = r.itl_slope_seconds_per_1k_positions;
  if (r.name != "total") {
    j["load"] = r.open_loop ? "open" : "closed";
    j["concurrency"] = r.concurrency;
    if (r.open_loop) {
      j["request_rate_requested"] = r.requested_rate;
      j["request_rate_scheduled"] = r.scheduled_rate;
      j["request_rate_achieved"] = r.achieved_rate;
      j["max_send_lag_seconds"] = r.max_send_lag_seconds;
    }
  }
  return j;
}

nlohmann::json RunToJson(const nlohmann::json& run_info, const Report& total, const std::vector<Report>& levels) {
  nlohmann::json j = ReportToJson(total);
  for (const auto& [key, value] : run_info.items()) j[key] = value;
  j["levels"] = nlohmann::json::array();
  for (const Report& level : levels) j["levels"].push_back(ReportToJson(level));
  return j;
}

}  // namespace glaserve::loadtest
