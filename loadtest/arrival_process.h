// When an open-loop load sends its requests: inter-arrival gaps drawn from a gamma
// distribution with mean 1 / rate. The shape is the burstiness: 1 is a Poisson process,
// below 1 arrivals come in bursts, above 1 they are more evenly spaced (the same knob as
// vLLM's benchmark_serving, so results compare).
#ifndef GLASERVE_LOADTEST_ARRIVAL_PROCESS_H_
#define GLASERVE_LOADTEST_ARRIVAL_PROCESS_H_

#include <cstdint>

#include "loadtest/random.h"

namespace glaserve::loadtest {

class ArrivalProcess {
 public:
  // rate > 0 requests per second, burstiness > 0.
  ArrivalProcess(double rate, double burstiness, uint64_t seed);

  // Seconds from the previous arrival to the next one.
  double NextGapSeconds();

 private:
  double rate_;
  double burstiness_;
  Random random_;
};

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_ARRIVAL_PROCESS_H_
