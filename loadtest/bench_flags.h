// glaserve-bench's command-line flags, turned into a BenchConfig.
#ifndef GLASERVE_LOADTEST_BENCH_FLAGS_H_
#define GLASERVE_LOADTEST_BENCH_FLAGS_H_

#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "loadtest/bench_config.h"

namespace glaserve::loadtest {

extern const char kBenchUsage[];

// Reads the parsed flags; `given` (FlagsGiven) says which a preset must not change.
// InvalidArgument names the offending flag.
absl::StatusOr<BenchConfig> BenchConfigFromFlags(const std::set<std::string>& given);

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_BENCH_FLAGS_H_
