// Level reports from hand-made stream records: counts, errors, throughput, goodput,
// TPOT and the ITL tables.
#include "loadtest/report.h"

#include "gtest/gtest.h"

namespace glaserve::loadtest {
namespace {

using std::chrono::milliseconds;

// An OK stream sent at `t0 + sent_ms` with the given TTFT and equal gaps.
StreamRecord Stream(Clock::time_point t0, int sent_ms, int ttft_ms, int gap_ms, int num_tokens, int prompt_tokens) {
  StreamRecord r;
  r.request_id = "r";
  r.prompt_tokens = prompt_tokens;
  r.max_tokens = num_tokens;
  r.sent = t0 + milliseconds(sent_ms);
  r.first_token = r.sent + milliseconds(ttft_ms);
  r.done = r.first_token + milliseconds(gap_ms * (num_tokens - 1));
  r.num_tokens = num_tokens;
  r.gaps_seconds.assign(num_tokens - 1, gap_ms / 1000.0f);
  return r;
}

LevelRun TwoSecondRun() {
  const Clock::time_point t0 = Clock::now();
  LevelRun run;
  run.level.concurrency = 2;
  run.level.num_requests = 5;
  run.start = t0;
  run.end = t0 + milliseconds(2000);
  run.records.push_back(Stream(t0, 0, 100, 10, 11, 32));  // TPOT 10 ms
  run.records.push_back(Stream(t0, 0, 300, 20, 11, 64));  // TPOT 20 ms
  run.records.back().usage_cached_prompt_tokens = 48;
  run.records.push_back(Stream(t0, 500, 50, 40, 6, 32));  // TPOT 40 ms
  StreamRecord rejected;
  rejected.status = grpc::StatusCode::RESOURCE_EXHAUSTED;
  rejected.error_message = "busy";
  run.records.push_back(rejected);
  StreamRecord short_stream = Stream(t0, 0, 10, 10, 3, 32);
  short_stream.violations = {"token_count_mismatch", "usage_missing"};
  run.records.push_back(short_stream);
  return run;
}

TEST(ReportTest, CountsThroughputAndErrors) {
  const Report r = BuildLevelReport(TwoSecondRun(), {}, 10);
  EXPECT_EQ(r.name, "concurrency=2");
  EXPECT_EQ(r.requests_sent, 5);
  EXPECT_EQ(r.requests_completed, 3);
  EXPECT_EQ(r.requests_failed, 2);
  EXPECT_EQ(r.errors_by_status, (std::map<std::string, int64_t>{{"RESOURCE_EXHAUSTED", 1}}));
  EXPECT_EQ(r.validation_errors, (std::map<std::string, int64_t>{{"token_count_mismatch", 1}, {"usage_missing", 1}}));
  EXPECT_EQ(r.error_examples.size(), 2u);
  EXPECT_EQ(r.output_tokens, 28);
  EXPECT_EQ(r.prompt_tokens, 128);
  EXPECT_EQ(r.cached_prompt_tokens, 48);
  EXPECT_DOUBLE_EQ(r.duration_seconds, 2.0);
  EXPECT_DOUBLE_EQ(r.requests_per_second, 1.5);
  EXPECT_DOUBLE_EQ(r.output_tokens_per_second, 14);
  EXPECT_DOUBLE_EQ(r.prompt_tokens_per_second, 64);
}

TEST(ReportTest, LatencySummariesOfCompletedRequests) {
  const Report r = BuildLevelReport(TwoSecondRun(), {}, 10);
  EXPECT_EQ(r.ttft_seconds.count, 3);
  EXPECT_NEAR(r.ttft_seconds.mean, 0.15, 1e-9);
  EXPECT_NEAR(r.ttft_seconds.p50, 0.1, 1e-9);
  EXPECT_NEAR(r.ttft_seconds.max, 0.3, 1e-9);
  // TPOT = (e2e - TTFT) / (tokens - 1).
  EXPECT_NEAR(r.tpot_seconds.min, 0.010, 1e-9);
  EXPECT_NEAR(r.tpot_seconds.p50, 0.020, 1e-9);
  EXPECT_NEAR(r.tpot_seconds.max, 0.040, 1e-9);
  // Every gap: 10 of 10 ms, 10 of 20 ms, 5 of 40 ms.
  EXPECT_EQ(r.itl_seconds.count, 25);
  EXPECT_NEAR(r.itl_seconds.mean, (10 * 10 + 10 * 20 + 5 * 40) / 25.0 / 1000, 1e-6);
  EXPECT_NEAR(r.itl_seconds.p50, 0.020, 1e-6);
  EXPECT_NEAR(r.e2e_seconds.max, 0.5, 1e-9);  // 300 + 10 * 20 ms
}

TEST(ReportTest, GoodputCountsRequestsWithinBothSlos) {
  const LevelRun run = TwoSecondRun();
  // All three completed requests are good without SLOs.
  EXPECT_EQ(BuildLevelReport(run, {}, 10).requests_within_slo, 3);
  // TTFT <= 200 ms drops the 300 ms one.
  Report r = BuildLevelReport(run, {.ttft_seconds = 0.2}, 10);
  EXPECT_EQ(r.requests_within_slo, 2);
  EXPECT_DOUBLE_EQ(r.goodput_requests_per_second, 1.0);
  // And TPOT <= 25 ms drops the 40 ms one.
  r = BuildLevelReport(run, {.ttft_seconds = 0.2, .tpot_seconds = 0.025}, 10);
  EXPECT_EQ(r.requests_within_slo, 1);
  EXPECT_DOUBLE_EQ(r.goodput_requests_per_second, 0.5);
}

TEST(ReportTest, ItlByPromptLengthGetsABucketPerDistinctLength) {
  const Report r = BuildLevelReport(TwoSecondRun(), {}, 10);
  ASSERT_EQ(r.itl_vs_prompt_tokens.size(), 2u);
  EXPECT_EQ(r.itl_vs_prompt_tokens[0].x_min, 32);
  EXPECT_EQ(r.itl_vs_prompt_tokens[0].itl_seconds.count, 15);
  EXPECT_EQ(r.itl_vs_prompt_tokens[1].x_min, 64);
  EXPECT_NEAR(r.itl_vs_prompt_tokens[1].itl_seconds.mean, 0.020, 1e-6);
}

TEST(BucketByXTest, EqualRangesWhenManyDistinctValues) {
  std::vector<std::pair<int64_t, double>> points;
  for (int x = 0; x < 100; ++x) points.emplace_back(x, x < 50 ? 1.0 : 3.0);
  const std::vector<ItlBucket> buckets = BucketByX(points, 4);
  ASSERT_EQ(buckets.size(), 4u);
  EXPECT_EQ(buckets[0].x_min, 0);
  EXPECT_EQ(buckets[0].x_max, 24);
  EXPECT_EQ(buckets[3].x_min, 75);
  EXPECT_EQ(buckets[3].x_max, 99);
  EXPECT_EQ(buckets[1].itl_seconds.count, 25);
  EXPECT_DOUBLE_EQ(buckets[1].itl_seconds.mean, 1.0);
  EXPECT_DOUBLE_EQ(buckets[2].itl_seconds.mean, 3.0);
}

TEST(ReportTest, SlopeOfItlAgainstPosition) {
  const Clock::time_point t0 = Clock::now();
  LevelRun run;
  run.start = t0;
  run.end = t0 + milliseconds(1000);
  // Gaps that grow by 1 ms per position: 1 s per 1K positions.
  StreamRecord r = Stream(t0, 0, 1, 1, 101, 10);
  for (size_t i = 0; i < r.gaps_seconds.size(); ++i) r.gaps_seconds[i] = 0.001f * (i + 1);
  run.records.push_back(r);
  EXPECT_NEAR(BuildLevelReport(run, {}, 10).itl_slope_seconds_per_1k_positions, 1.0, 1e-3);
  // Flat gaps: slope 0.
  run.records = {Stream(t0, 0, 1, 5, 101, 10)};
  EXPECT_NEAR(BuildLevelReport(run, {}, 10).itl_slope_seconds_per_1k_positions, 0.0, 1e-9);
}

TEST(ReportTest, OpenLoopRates) {
  const Clock::time_point t0 = Clock::now();
  LevelRun run;
  run.level.rate = 4;
  run.start = t0;
  for (int i = 0; i < 5; ++i) run.records.push_back(Stream(t0, 250 * i, 1, 1, 2, 8));
  run.last_scheduled = t0 + milliseconds(1000);
  run.last_send = t0 + milliseconds(1250);  // the client lagged
  run.end = t0 + milliseconds(1300);
  const Report r = BuildLevelReport(run, {}, 10);
  EXPECT_TRUE(r.open_loop);
  EXPECT_EQ(r.name, "rate=4");
  EXPECT_DOUBLE_EQ(r.requested_rate, 4);
  EXPECT_NEAR(r.scheduled_rate, 4.0, 1e-9);  // 4 gaps in 1 s
  EXPECT_NEAR(r.achieved_rate, 3.2, 1e-9);   // 4 gaps in 1.25 s
}

TEST(ReportTest, TotalSumsLevelDurations) {
  const std::vector<LevelRun> runs = {TwoSecondRun(), TwoSecondRun()};
  const Report total = BuildTotalReport(runs, {}, 10);
  EXPECT_EQ(total.name, "total");
  EXPECT_EQ(total.requests_sent, 10);
  EXPECT_EQ(total.requests_completed, 6);
  EXPECT_DOUBLE_EQ(total.duration_seconds, 4.0);
  EXPECT_DOUBLE_EQ(total.requests_per_second, 1.5);
}

}  // namespace
}  // namespace glaserve::loadtest
