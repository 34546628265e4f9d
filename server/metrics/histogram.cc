#include "server/metrics/histogram.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "server/metrics/buckets.h"
#include "server/metrics/text_format.h"

namespace glaserve::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  CheckBucketBounds(bounds_);
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  // lower_bound finds the first bound >= value: inclusive upper bounds, as `le` means.
  // NaN compares false with everything, so send it to +Inf explicitly.
  const size_t bucket =
      std::isnan(value) ? bounds_.size()
                        : std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);  // a CAS loop on the double's bits
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> cumulative(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    cumulative[i] = total;
  }
  return cumulative;
}

uint64_t Histogram::Count() const { return CumulativeCounts().back(); }

void Histogram::AppendSamples(std::string& out, absl::string_view name,
                              absl::string_view labels) const {
  // One snapshot of the counts serves both the buckets and _count, so a scrape racing
  // Observe still shows +Inf == _count. _sum may lag or lead by the racing observations.
  const std::vector<uint64_t> cumulative = CumulativeCounts();
  const std::string bucket_name = absl::StrCat(name, "_bucket");
  const absl::string_view separator = labels.empty() ? "" : ",";
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    const std::string le = i < bounds_.size() ? FormatValue(bounds_[i]) : "+Inf";
    AppendSample(out, bucket_name, absl::StrCat(labels, separator, "le=\"", le, "\""),
                 absl::StrCat(cumulative[i]));
  }
  AppendSample(out, absl::StrCat(name, "_sum"), labels, FormatValue(Sum()));
  AppendSample(out, absl::StrCat(name, "_count"), labels, absl::StrCat(cumulative.back()));
}

}  // namespace glaserve::metrics
