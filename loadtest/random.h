// Seeded random draws for workloads and arrival times. The engine is std::mt19937_64,
// whose output the C++ standard fixes; the distributions are written here because the
// standard library's are implementation-defined, and a seed must give the same load
// on every machine.
#ifndef GLASERVE_LOADTEST_RANDOM_H_
#define GLASERVE_LOADTEST_RANDOM_H_

#include <cstdint>
#include <random>

namespace glaserve::loadtest {

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  uint64_t NextBits() { return engine_(); }
  // Uniform in [0, 1).
  double Uniform();
  // Uniform in [lo, hi], both included, without modulo bias.
  int64_t UniformInt(int64_t lo, int64_t hi);
  double Exponential(double mean);
  double StandardNormal();
  // Gamma(shape, scale): mean shape * scale, coefficient of variation 1 / sqrt(shape).
  double Gamma(double shape, double scale);

 private:
  std::mt19937_64 engine_;
};

// A seed derived from a base seed and a stream number (SplitMix64), so that request i's
// draws do not depend on how many draws requests before it made.
uint64_t DeriveSeed(uint64_t seed, uint64_t stream);

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_RANDOM_H_
