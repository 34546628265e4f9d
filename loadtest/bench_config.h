// Everything one glaserve-bench run does, decided from the flags before it connects.
#ifndef GLASERVE_LOADTEST_BENCH_CONFIG_H_
#define GLASERVE_LOADTEST_BENCH_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "loadtest/generate_call.h"
#include "loadtest/load_level.h"
#include "loadtest/report.h"
#include "loadtest/workload.h"

namespace glaserve::loadtest {

enum class PromptFormat { kTokenIds, kText };

struct BenchConfig {
  // Where and how to connect.
  std::string target = "127.0.0.1:50051";
  bool tls = false;
  std::string tls_ca_file;  // PEM roots; empty: the system's
  std::string auth_token;   // sent as "authorization: Bearer <token>" when set
  int32_t connections = 1;
  double connect_timeout_seconds = 10;

  // The load: levels run in order after the warm-up requests.
  std::vector<LoadLevel> levels;
  int64_t warmup_requests = 0;

  // What each request asks for.
  std::string preset;
  WorkloadOptions workload;
  PromptFormat prompt_format = PromptFormat::kTokenIds;
  int64_t prompt_pool = 256;  // text prompts built ahead, when the run is timed (--duration)
  bool ignore_eos = true;
  double temperature = 1.0;
  CallOptions call;

  // What to report.
  SloOptions slo;
  int itl_buckets = 10;
  std::string report_path;
  std::string plot_dir;
};

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_BENCH_CONFIG_H_
