#include "loadtest/report.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace glaserve::loadtest {

namespace {

constexpr int kMaxErrorExamples = 5;

const char* StatusName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double LeastSquaresSlope(const std::vector<std::pair<int64_t, double>>& points) {
  if (points.size() < 2) return 0;
  double mean_x = 0, mean_y = 0;
  for (const auto& [x, y] : points) {
    mean_x += static_cast<double>(x);
    mean_y += y;
  }
  mean_x /= static_cast<double>(points.size());
  mean_y /= static_cast<double>(points.size());
  double cov = 0, var = 0;
  for (const auto& [x, y] : points) {
    cov += (static_cast<double>(x) - mean_x) * (y - mean_y);
    var += (static_cast<double>(x) - mean_x) * (static_cast<double>(x) - mean_x);
  }
  return var > 0 ? cov / var : 0;
}

Report BuildReport(std::string name, const std::vector<const StreamRecord*>& records, double duration_seconds,
                   const SloOptions& slo, int num_buckets) {
  Report report;
  report.name = std::move(name);
  report.slo = slo;
  report.duration_seconds = duration_seconds;
  report.requests_sent = static_cast<int64_t>(records.size());
  std::vector<double> ttft, itl, tpot, e2e, prompt_lengths, output_lengths;
  std::vector<std::pair<int64_t, double>> by_position, by_prompt;
  for (const StreamRecord* r : records) {
    if (!r->ok()) {
      ++report.requests_failed;
      if (r->status != grpc::StatusCode::OK) {
        ++report.errors_by_status[StatusName(r->status)];
      }
      for (const std::string& violation : r->violations) ++report.validation_errors[violation];
      if (static_cast<int>(report.error_examples.size()) < kMaxErrorExamples) {
        report.error_examples.push_back(
            r->status != grpc::StatusCode::OK
                ? absl::StrCat(r->request_id, ": ", StatusName(r->status), ": ", r->error_message)
                : absl::StrCat(r->request_id, ": invalid stream: ", r->violations.front()));
      }
      continue;
    }
    ++report.requests_completed;
    report.prompt_tokens += r->prompt_tokens;
    report.cached_prompt_tokens += r->usage_cached_prompt_tokens;
    report.output_tokens += r->num_tokens;
    prompt_lengths.push_back(r->prompt_tokens);
    output_lengths.push_back(r->num_tokens);
    ttft.push_back(r->ttft_seconds());
    e2e.push_back(r->e2e_seconds());
    if (r->num_tokens >= 2) tpot.push_back(r->tpot_seconds());
    for (size_t i = 0; i < r->gaps_seconds.size(); ++i) {
      const double gap = r->gaps_seconds[i];
      itl.push_back(gap);
      // Gap i leads to output token i + 1, at context position prompt + i + 1.
      by_position.emplace_back(r->prompt_tokens + static_cast<int64_t>(i) + 1, gap);
      by_prompt.emplace_back(r->prompt_tokens, gap);
    }
    const bool ttft_ok = slo.ttft_seconds <= 0 || r->ttft_seconds() <= slo.ttft_seconds;
    const bool tpot_ok = slo.tpot_seconds <= 0 || r->tpot_seconds() <= slo.tpot_seconds;
    if (ttft_ok && tpot_ok) ++report.requests_within_slo;
  }
  if (duration_seconds > 0) {
    report.requests_per_second = report.requests_completed / duration_seconds;
    report.prompt_tokens_per_second = report.prompt_tokens / duration_seconds;
    report.output_tokens_per_second = report.output_tokens / duration_seconds;
    report.goodput_requests_per_second = report.requests_within_slo / duration_seconds;
  }
  report.ttft_seconds = Summarize(std::move(ttft));
  report.itl_seconds = Summarize(std::move(itl));
  report.tpot_seconds = Summarize(std::move(tpot));
  report.e2e_seconds = Summarize(std::move(e2e));
  report.prompt_tokens_per_request = Summarize(std::move(prompt_lengths));
  report.output_tokens_per_request = Summarize(std::move(output_lengths));
  report.itl_slope_seconds_per_1k_positions = 1000 * LeastSquaresSlope(by_position);
  report.itl_vs_position = BucketByX(std::move(by_position), num_buckets);
  report.itl_vs_prompt_tokens = BucketByX(std::move(by_prompt), num_buckets);
  return report;
}

std::vector<const StreamRecord*> Pointers(const std::vector<StreamRecord>& records) {
  std::vector<const StreamRecord*> pointers;
  for (const StreamRecord& r : records) pointers.push_back(&r);
  return pointers;
}

}  // namespace

std::vector<ItlBucket> BucketByX(std::vector<std::pair<int64_t, double>> points, int num_buckets) {
  std::vector<ItlBucket> buckets;
  if (points.empty()) return buckets;
  std::sort(points.begin(), points.end());
  const int64_t x_min = points.front().first, x_max = points.back().first;
  int64_t num_distinct = 1;
  for (size_t i = 1; i < points.size() && num_distinct <= num_buckets; ++i) {
    num_distinct += points[i].first != points[i - 1].first;
  }
  // Few distinct values (e.g. prompts from a list of lengths) get a bucket each, rather
  // than equal ranges that would merge some of them.
  const bool per_value = num_distinct <= num_buckets;
  const int64_t width = std::max<int64_t>(1, (x_max - x_min + num_buckets) / std::max(1, num_buckets));
  size_t i = 0;
  while (i < points.size()) {
    const int64_t lo = per_value ? points[i].first : x_min + (points[i].first - x_min) / width * width;
    const int64_t hi = per_value ? lo : std::min(x_max, lo + width - 1);
    // Labelled with the x its points cover, which may be narrower than [lo, hi].
    const int64_t first_x = points[i].first;
    std::vector<double> values;
    for (; i < points.size() && points[i].first <= hi; ++i) values.push_back(points[i].second);
    buckets.push_back({first_x, points[i - 1].first, Summarize(std::move(values))});
  }
  return buckets;
}

Report BuildLevelReport(const LevelRun& run, const SloOptions& slo, int num_buckets) {
  Report report = BuildReport(run.level.Name(), Pointers(run.records), run.duration_seconds(), slo, num_buckets);
  report.concurrency = run.level.concurrency;
  report.open_loop = run.level.open_loop();
  if (report.open_loop) {
    report.requested_rate = run.level.rate;
    report.max_send_lag_seconds = run.max_send_lag_seconds;
    // n requests span n - 1 gaps, from the first (at start) to the last.
    const double num_gaps = static_cast<double>(run.records.size()) - 1;
    const double scheduled_span = Seconds(run.last_scheduled - run.start);
    const double sent_span = Seconds(run.last_send - run.start);
    if (num_gaps > 0 && scheduled_span > 0) report.scheduled_rate = num_gaps / scheduled_span;
    if (num_gaps > 0 && sent_span > 0) report.achieved_rate = num_gaps / sent_span;
  }
  return report;
}

Report BuildTotalReport(const std::vector<LevelRun>& runs, const SloOptions& slo, int num_buckets) {
  std::vector<const StreamRecord*> records;
  double duration = 0;
  for (const LevelRun& run : runs) {
    for (const StreamRecord& r : run.records) records.push_back(&r);
    duration += run.duration_seconds();
  }
  return BuildReport("total", records, duration, slo, num_buckets);
}

}  // namespace glaserve::loadtest
