// A distribution over fixed buckets (latencies, lengths). One child of a histogram family:
// Observe is lock-free, one relaxed atomic add on the bucket's count and a CAS loop on the
// sum. Counts are kept per bucket and made cumulative only when rendered, so the +Inf
// bucket equals _count by construction.
#ifndef GLASERVE_SERVER_METRICS_HISTOGRAM_H_
#define GLASERVE_SERVER_METRICS_HISTOGRAM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace glaserve::metrics {

class Histogram {
 public:
  static constexpr char kType[] = "histogram";

  // `bounds`: finite upper bounds, strictly increasing (see buckets.h); +Inf is implied.
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Counts `value` in the first bucket whose bound is >= value (Prometheus `le`), else in
  // +Inf. NaN goes to +Inf and makes the sum NaN, as in the Go client.
  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts, one per bound and then the +Inf bucket (== Count()).
  std::vector<uint64_t> CumulativeCounts() const;
  uint64_t Count() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

  // Appends the _bucket, _sum and _count lines; `labels` is the child's label set.
  void AppendSamples(std::string& out, absl::string_view name, absl::string_view labels) const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // [bounds_.size() + 1], not cumulative
  std::atomic<double> sum_{0};
};

}  // namespace glaserve::metrics

#endif  // GLASERVE_SERVER_METRICS_HISTOGRAM_H_
