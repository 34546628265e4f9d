// A value that goes up and down (running requests, state slots in use). One child of a
// gauge family: callers cache the reference, so an update is one relaxed atomic operation.
#ifndef GLASERVE_SERVER_METRICS_GAUGE_H_
#define GLASERVE_SERVER_METRICS_GAUGE_H_

#include <atomic>
#include <string>

#include "absl/strings/string_view.h"

namespace glaserve::metrics {

class Gauge {
 public:
  static constexpr char kType[] = "gauge";

  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Increment(double amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void Decrement(double amount = 1) { value_.fetch_sub(amount, std::memory_order_relaxed); }

  double Value() const { return value_.load(std::memory_order_relaxed); }

  // Appends this child's sample line; `labels` is its rendered label set (may be empty).
  void AppendSamples(std::string& out, absl::string_view name, absl::string_view labels) const;

 private:
  std::atomic<double> value_{0};
};

}  // namespace glaserve::metrics

#endif  // GLASERVE_SERVER_METRICS_GAUGE_H_
