#include "loadtest/arrival_process.h"

namespace glaserve::loadtest {

ArrivalProcess::ArrivalProcess(double rate, double burstiness, uint64_t seed)
    : rate_(rate), burstiness_(burstiness), random_(seed) {}

double ArrivalProcess::NextGapSeconds() {
  // Gamma(k, 1 / (k * rate)) has mean 1 / rate whatever the shape k.
  return random_.Gamma(burstiness_, 1.0 / (burstiness_ * rate_));
}

}  // namespace glaserve::loadtest
