// What a test can see of a running `glaserve serve` from outside: its slot and queue
// gauges (GetModelInfo), its resident memory (/proc), its /metrics samples.
#ifndef GLASERVE_TESTS_RELIABILITY_SERVER_PROBE_H_
#define GLASERVE_TESTS_RELIABILITY_SERVER_PROBE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/testing/server_process.h"

namespace glaserve::testing {

struct ServerLoad {
  int32_t slots_in_use = -1;
  int32_t waiting = -1;
};

// The server's gauges now; -1s when it does not answer.
ServerLoad GetServerLoad(const std::string& address);
// Waits until no slot is used and nothing waits; true if that happened within `timeout`.
bool WaitServerIdle(const std::string& address, absl::Duration timeout);

// VmRSS of process `pid` in bytes, or -1.
int64_t ResidentBytes(pid_t pid);

// Whether resident memory means anything in this build. Under ASan freed memory sits in a
// quarantine of up to 256 MiB and shadow memory grows with use, so memory bounds apply to
// the normal build only (ASan's leak checker covers leaks there: ExpectCleanExit). The
// sanitized test binaries run against the server built the same way.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kMemoryIsMeasurable = false;
#else
inline constexpr bool kMemoryIsMeasurable = true;
#endif

// Stops the server with SIGTERM and expects exit status 0 within a minute: whatever load
// it took, it still shuts down cleanly, and a sanitized server's leak checker, which runs
// at exit, finds nothing (a leak makes the status nonzero; the report is in the failure).
void ExpectCleanExit(ServerProcess& server);

// GET /metrics from `metrics_port`; "" on failure.
std::string ScrapeMetrics(int metrics_port);
// The value of the sample named exactly `series` (name and labels) in `exposition`, or 0.
double MetricSample(const std::string& exposition, const std::string& series);

// The shared test checkpoint (tiny random GLA model with the test tokenizer), made once.
const std::string& ReliabilityModelDir();

// `glaserve serve` arguments: the shared checkpoint, `extra`, and --log-level warning:
// ServerProcess reads the server's stderr only when it exits, and thousands of request
// log lines would fill the pipe and block the server's writes.
std::vector<std::string> ServeArgs(std::vector<std::string> extra);

}  // namespace glaserve::testing

#endif  // GLASERVE_TESTS_RELIABILITY_SERVER_PROBE_H_
