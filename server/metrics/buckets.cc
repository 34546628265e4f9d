#include "server/metrics/buckets.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/check.h"

namespace glaserve::metrics {
namespace {

// Repeated multiplication leaves binary noise in the last digits; 12 significant digits
// drop it while keeping any bound a person would choose.
double RoundToSignificantDigits(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.12g", value);
  return std::strtod(buffer, nullptr);
}

}  // namespace

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  CHECK(start > 0) << "start " << start;
  CHECK(factor > 1) << "factor " << factor;
  CHECK_GE(count, 1);
  std::vector<double> bounds;
  bounds.reserve(count);
  for (int i = 0; i < count; ++i) {
    bounds.push_back(RoundToSignificantDigits(start * std::pow(factor, i)));
  }
  CheckBucketBounds(bounds);
  return bounds;
}

std::vector<double> LinearBuckets(double start, double width, int count) {
  CHECK(width > 0) << "width " << width;
  CHECK_GE(count, 1);
  std::vector<double> bounds;
  bounds.reserve(count);
  for (int i = 0; i < count; ++i) {
    bounds.push_back(RoundToSignificantDigits(start + i * width));
  }
  CheckBucketBounds(bounds);
  return bounds;
}

void CheckBucketBounds(absl::Span<const double> bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    CHECK(std::isfinite(bounds[i])) << "bucket bound " << i << " is " << bounds[i]
                                    << "; +Inf is implied, NaN is never valid";
    CHECK(i == 0 || bounds[i - 1] < bounds[i])
        << "bucket bounds must be strictly increasing: " << bounds[i - 1] << " then "
        << bounds[i];
  }
}

}  // namespace glaserve::metrics
