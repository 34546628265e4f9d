// Summary statistics of a sample: count, mean, min, max and percentiles.
#ifndef GLASERVE_LOADTEST_SUMMARY_H_
#define GLASERVE_LOADTEST_SUMMARY_H_

#include <cstdint>
#include <vector>

namespace glaserve::loadtest {

struct Summary {
  int64_t count = 0;
  double mean = 0;
  double min = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double max = 0;
};

// The p-th percentile (p in [0, 100]) of an ascending sample, interpolating linearly
// between the closest ranks (rank p / 100 * (n - 1), numpy's default), so results compare
// with the usual Python benchmark scripts. 0 for an empty sample.
double Percentile(const std::vector<double>& sorted, double p);

// All zeros for an empty sample.
Summary Summarize(std::vector<double> values);

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_SUMMARY_H_
