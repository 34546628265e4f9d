// Histogram bucket layouts. A layout is the list of finite upper bounds, strictly
// increasing; the +Inf bucket is always implied and never listed.
#ifndef GLASERVE_SERVER_METRICS_BUCKETS_H_
#define GLASERVE_SERVER_METRICS_BUCKETS_H_

#include <vector>

#include "absl/types/span.h"

namespace glaserve::metrics {

// start, start*factor, ..., start*factor^(count-1), each rounded to 12 significant digits so
// that the `le` labels read "0.003" rather than "0.0030000000000000005".
// Needs start > 0, factor > 1, count >= 1.
std::vector<double> ExponentialBuckets(double start, double factor, int count);

// start, start+width, ..., start+(count-1)*width, rounded the same way. Needs width > 0,
// count >= 1.
std::vector<double> LinearBuckets(double start, double width, int count);

// CHECKs that `bounds` is a valid layout: finite and strictly increasing (may be empty:
// then the histogram has the +Inf bucket alone). An explicit list is just such a vector.
void CheckBucketBounds(absl::Span<const double> bounds);

}  // namespace glaserve::metrics

#endif  // GLASERVE_SERVER_METRICS_BUCKETS_H_
