// A value that only goes up (requests served, tokens generated). One child of a counter
// family: callers cache the reference, so an increment is one relaxed atomic add.
#ifndef GLASERVE_SERVER_METRICS_COUNTER_H_
#define GLASERVE_SERVER_METRICS_COUNTER_H_

#include <atomic>
#include <string>

#include "absl/strings/string_view.h"
#include "engine/check.h"

namespace glaserve::metrics {

class Counter {
 public:
  static constexpr char kType[] = "counter";

  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // `amount` must be >= 0 (and not NaN): a counter that goes down reads as a restart.
  void Increment(double amount = 1) {
    CHECK(amount >= 0) << "counter increment must be non-negative, got " << amount;
    // Relaxed: the scrape needs each add to land exactly once, not any ordering with others.
    value_.fetch_add(amount, std::memory_order_relaxed);
  }

  double Value() const { return value_.load(std::memory_order_relaxed); }

  // Appends this child's sample line; `labels` is its rendered label set (may be empty).
  void AppendSamples(std::string& out, absl::string_view name, absl::string_view labels) const;

 private:
  std::atomic<double> value_{0};
};

}  // namespace glaserve::metrics

#endif  // GLASERVE_SERVER_METRICS_COUNTER_H_
