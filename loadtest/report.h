// The numbers a load test reports, for one level or for the whole run: counts, errors
// by status, throughput, goodput under SLOs, latency summaries, and inter-token latency
// against context position and prompt length (for GLA both should be flat: every token
// costs the same whatever came before it).
#ifndef GLASERVE_LOADTEST_REPORT_H_
#define GLASERVE_LOADTEST_REPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "loadtest/load_runner.h"
#include "loadtest/stream_record.h"
#include "loadtest/summary.h"

namespace glaserve::loadtest {

// A request is good when it succeeded within both; 0 means no objective.
struct SloOptions {
  double ttft_seconds = 0;
  double tpot_seconds = 0;
};

// ITL of the gaps whose x (context position or prompt length) is in [x_min, x_max].
struct ItlBucket {
  int64_t x_min = 0;
  int64_t x_max = 0;
  Summary itl_seconds;
};

struct Report {
  std::string name;  // "concurrency=8", "rate=2", or "total"

  int64_t requests_sent = 0;
  int64_t requests_completed = 0;                    // OK status and a valid stream
  int64_t requests_failed = 0;                       // the others
  std::map<std::string, int64_t> errors_by_status;   // gRPC status name -> count
  std::map<std::string, int64_t> validation_errors;  // violation -> streams with it
  std::vector<std::string> error_examples;           // the first few, for diagnosis

  // Tokens of completed requests.
  int64_t prompt_tokens = 0;
  int64_t cached_prompt_tokens = 0;  // of prompt_tokens: not prefilled, the server had them cached
  int64_t output_tokens = 0;
  double duration_seconds = 0;
  double requests_per_second = 0;
  double prompt_tokens_per_second = 0;
  double output_tokens_per_second = 0;

  SloOptions slo;
  int64_t requests_within_slo = 0;
  double goodput_requests_per_second = 0;

  // Of completed requests; itl over every gap; tpot over requests with >= 2 tokens.
  Summary ttft_seconds;
  Summary itl_seconds;
  Summary tpot_seconds;
  Summary e2e_seconds;
  Summary prompt_tokens_per_request;
  Summary output_tokens_per_request;

  std::vector<ItlBucket> itl_vs_position;       // x: the token's position in its context
  std::vector<ItlBucket> itl_vs_prompt_tokens;  // x: its request's prompt length
  // Least-squares slope of ITL against context position: ~0 when ITL is flat.
  double itl_slope_seconds_per_1k_positions = 0;

  // Levels only.
  int32_t concurrency = 0;
  bool open_loop = false;
  double requested_rate = 0;
  double scheduled_rate = 0;  // of the drawn arrival times: differs by chance from requested
  double achieved_rate = 0;   // of the actual sends: below scheduled when the client lagged
  double max_send_lag_seconds = 0;
};

// `num_buckets` caps the rows of each ITL table.
Report BuildLevelReport(const LevelRun& run, const SloOptions& slo, int num_buckets);
// Every level's requests together over the sum of their durations.
Report BuildTotalReport(const std::vector<LevelRun>& runs, const SloOptions& slo, int num_buckets);

// Splits [min x, max x] of `points` (x, value) into at most num_buckets equal ranges and
// summarizes the values of each non-empty one.
std::vector<ItlBucket> BucketByX(std::vector<std::pair<int64_t, double>> points, int num_buckets);

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_REPORT_H_
