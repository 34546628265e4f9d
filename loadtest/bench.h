// One glaserve-bench run: connect, learn the model, build the workload, warm up, run
// each level, then print the tables and write the JSON report and plots.
#ifndef GLASERVE_LOADTEST_BENCH_H_
#define GLASERVE_LOADTEST_BENCH_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "glaserve/v1/glaserve.grpc.pb.h"
#include "loadtest/bench_config.h"
#include "loadtest/load_runner.h"
#include "loadtest/workload.h"
#include "nlohmann/json.hpp"

namespace glaserve::loadtest {

class Bench {
 public:
  explicit Bench(BenchConfig config) : config_(std::move(config)) {}

  // The process exit status: 0 when every counted request succeeded, 3 when some failed,
  // 1 when the run could not start (the reason on stderr), 130 when Ctrl-C cut it short
  // (what ran is still reported).
  int Run();

 private:
  absl::Status Connect();
  absl::Status PrepareWorkload();
  absl::Status BuildTextPrompts(int64_t count);
  PreparedRequest MakeRequest(int64_t index) const;
  nlohmann::json RunInfo() const;
  // Requests the whole run sends, or nullopt when levels are timed (--duration).
  std::optional<int64_t> TotalRequests() const;

  BenchConfig config_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  v1::GetModelInfoResponse model_;
  std::unique_ptr<Workload> workload_;
  std::vector<std::string> text_prompts_;  // text format: request i uses i % size
  std::string started_at_;
};

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_BENCH_H_
