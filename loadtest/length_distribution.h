// Where prompt and output lengths come from: a fixed value, uniform around a mean, or
// values listed in a file (e.g. lengths taken from production traffic).
#ifndef GLASERVE_LOADTEST_LENGTH_DISTRIBUTION_H_
#define GLASERVE_LOADTEST_LENGTH_DISTRIBUTION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "loadtest/random.h"

namespace glaserve::loadtest {

class LengthDistribution {
 public:
  static LengthDistribution Fixed(int32_t length);
  // Uniform integers in [mean * (1 - spread), mean * (1 + spread)], never below 1.
  static absl::StatusOr<LengthDistribution> Uniform(int32_t mean, double spread);
  // Drawn uniformly from `lengths` (all >= 1).
  static absl::StatusOr<LengthDistribution> FromList(std::vector<int32_t> lengths);
  // One length per line; blank lines and lines starting with '#' are skipped.
  static absl::StatusOr<LengthDistribution> FromFile(const std::string& path);

  int32_t Sample(Random& random) const;
  int32_t min() const;
  int32_t max() const;
  double mean() const;
  // E.g. "512", "uniform[384, 640]", "list of 3 (1024..131072)", for reports.
  std::string Describe() const;

 private:
  LengthDistribution() = default;

  // Uniform in [lo_, hi_] when list_ is empty, else a draw from list_.
  int32_t lo_ = 1;
  int32_t hi_ = 1;
  std::vector<int32_t> list_;
};

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_LENGTH_DISTRIBUTION_H_
