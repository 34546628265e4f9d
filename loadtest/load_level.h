// One load level of a run: a closed loop (a fixed number of streams always in flight) or
// an open loop (requests arriving at a rate whatever the server's speed). A sweep is a
// list of levels run one after the other.
#ifndef GLASERVE_LOADTEST_LOAD_LEVEL_H_
#define GLASERVE_LOADTEST_LOAD_LEVEL_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace glaserve::loadtest {

struct LoadLevel {
  // Closed loop: streams kept in flight. Open loop: the most in flight at once (0: no cap),
  // beyond which arrivals wait (and the wait shows as send lag).
  int32_t concurrency = 1;
  // Open loop when > 0: requests per second.
  double rate = 0;
  // Shape of the open loop's gamma inter-arrival times: 1 is Poisson (arrival_process.h).
  double burstiness = 1;
  // The level ends after this many requests, or, when 0, sends for duration_seconds.
  int64_t num_requests = 0;
  double duration_seconds = 0;

  bool open_loop() const { return rate > 0; }
  // "concurrency=8" or "rate=2.5".
  std::string Name() const {
    return open_loop() ? absl::StrCat("rate=", rate) : absl::StrCat("concurrency=", concurrency);
  }
};

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_LOAD_LEVEL_H_
