#include "loadtest/report_table.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace glaserve::loadtest {

namespace {

constexpr double kMs = 1000;

std::string LevelRow(const Report& r) {
  return absl::StrFormat("%-16s %6d %6d %5d %8.2f %8.2f %10.1f %9.1f %9.1f %8.2f %8.2f %8.2f %8.2f %8.3f %8.3f %8.2f\n",
                         r.name, r.requests_sent, r.requests_completed, r.requests_failed, r.duration_seconds,
                         r.requests_per_second, r.output_tokens_per_second, r.ttft_seconds.p50 * kMs,
                         r.ttft_seconds.p99 * kMs, r.itl_seconds.p50 * kMs, r.itl_seconds.p99 * kMs,
                         r.tpot_seconds.p50 * kMs, r.tpot_seconds.p99 * kMs, r.e2e_seconds.p50, r.e2e_seconds.p99,
                         r.goodput_requests_per_second);
}

std::string LatencyRow(const char* name, const Summary& s, double scale) {
  return absl::StrFormat("  %-8s %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f\n", name, s.mean * scale, s.min * scale,
                         s.p50 * scale, s.p90 * scale, s.p99 * scale, s.max * scale);
}

std::string BucketTable(const char* title, const char* x_name, const std::vector<ItlBucket>& buckets) {
  std::string out =
      absl::StrFormat("%s\n  %-21s %10s %9s %9s %9s\n", title, x_name, "gaps", "mean ms", "p50 ms", "p99 ms");
  for (const ItlBucket& b : buckets) {
    const std::string range = b.x_min == b.x_max ? absl::StrCat(b.x_min) : absl::StrCat(b.x_min, "-", b.x_max);
    absl::StrAppendFormat(&out, "  %-21s %10d %9.3f %9.3f %9.3f\n", range, b.itl_seconds.count,
                          b.itl_seconds.mean * kMs, b.itl_seconds.p50 * kMs, b.itl_seconds.p99 * kMs);
  }
  return out;
}

}  // namespace

std::string FormatTables(const std::vector<Report>& levels, const Report& total) {
  std::string out = absl::StrFormat("%-16s %6s %6s %5s %8s %8s %10s %9s %9s %8s %8s %8s %8s %8s %8s %8s\n", "level",
                                    "sent", "ok", "fail", "time s", "req/s", "out tok/s", "TTFT p50", "p99 ms",
                                    "ITL p50", "p99 ms", "TPOT p50", "p99 ms", "E2E p50", "p99 s", "goodput");
  for (const Report& level : levels) out += LevelRow(level);
  if (levels.size() > 1) out += LevelRow(total);

  absl::StrAppendFormat(&out, "\n%s: %d requests completed, %d failed; %d prompt + %d output tokens in %.2f s\n",
                        total.name, total.requests_completed, total.requests_failed, total.prompt_tokens,
                        total.output_tokens, total.duration_seconds);
  absl::StrAppendFormat(&out, "  throughput %.2f req/s, %.1f prompt tok/s, %.1f output tok/s\n",
                        total.requests_per_second, total.prompt_tokens_per_second, total.output_tokens_per_second);
  if (total.cached_prompt_tokens > 0) {
    absl::StrAppendFormat(&out, "  prefix cache: %d of the prompt tokens (%.1f%%) were not prefilled again\n",
                          total.cached_prompt_tokens, 100.0 * total.cached_prompt_tokens / total.prompt_tokens);
  }
  if (total.slo.ttft_seconds > 0 || total.slo.tpot_seconds > 0) {
    absl::StrAppendFormat(&out, "  goodput %.2f req/s: %d of %d requests within TTFT <= %g ms, TPOT <= %g ms\n",
                          total.goodput_requests_per_second, total.requests_within_slo, total.requests_sent,
                          total.slo.ttft_seconds * kMs, total.slo.tpot_seconds * kMs);
  }
  absl::StrAppendFormat(&out, "  %-8s %10s %10s %10s %10s %10s %10s\n", "", "mean", "min", "p50", "p90", "p99", "max");
  out += LatencyRow("TTFT ms", total.ttft_seconds, kMs);
  out += LatencyRow("ITL ms", total.itl_seconds, kMs);
  out += LatencyRow("TPOT ms", total.tpot_seconds, kMs);
  out += LatencyRow("E2E s", total.e2e_seconds, 1);
  if (total.requests_failed > 0) {
    out += "errors:\n";
    for (const auto& [status, count] : total.errors_by_status)
      absl::StrAppendFormat(&out, "  %-34s %d\n", status, count);
    for (const auto& [violation, count] : total.validation_errors) {
      absl::StrAppendFormat(&out, "  %-34s %d\n", absl::StrCat("invalid stream: ", violation), count);
    }
    for (const std::string& example : total.error_examples) absl::StrAppendFormat(&out, "  e.g. %s\n", example);
  }
  out += "\n";
  out += BucketTable("ITL vs context position (prompt + tokens before it)", "position", total.itl_vs_position);
  // Over a few hundred positions the slope is mostly noise, extrapolated.
  if (!total.itl_vs_position.empty() &&
      total.itl_vs_position.back().x_max - total.itl_vs_position.front().x_min >= 1024) {
    absl::StrAppendFormat(&out, "  slope %+.4f ms per 1K positions\n", total.itl_slope_seconds_per_1k_positions * kMs);
  }
  out += "\n";
  out += BucketTable("ITL vs prompt length", "prompt tokens", total.itl_vs_prompt_tokens);
  return out;
}

}  // namespace glaserve::loadtest
