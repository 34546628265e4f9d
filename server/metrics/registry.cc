#include "server/metrics/registry.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/check.h"
#include "server/metrics/buckets.h"
#include "server/metrics/callback_gauge.h"

namespace glaserve::metrics {
namespace {

constexpr char kCounterSuffix[] = "_total";

void CheckNotCounterName(const std::string& name) {
  CHECK(!absl::EndsWith(name, kCounterSuffix))
      << name << ": only counter names end in " << kCounterSuffix;
}

}  // namespace

template <typename Metric>
Family<Metric>& Registry::Add(std::unique_ptr<Family<Metric>> family,
                              const std::vector<std::string>& series_names) {
  Family<Metric>& result = *family;
  std::unique_lock<std::shared_mutex> lock(mu_);
  ClaimSeriesNames(series_names);
  families_.push_back(std::move(family));
  return result;
}

Family<Counter>& Registry::AddCounter(std::string name, std::string help,
                                      std::vector<std::string> label_names) {
  CHECK(absl::EndsWith(name, kCounterSuffix))
      << name << ": counter names end in " << kCounterSuffix;
  std::vector<std::string> series_names = {name};
  return Add(std::make_unique<Family<Counter>>(std::move(name), std::move(help),
                                               std::move(label_names),
                                               [] { return std::make_unique<Counter>(); }),
             series_names);
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help,
                                  std::vector<std::string> label_names) {
  CheckNotCounterName(name);
  std::vector<std::string> series_names = {name};
  return Add(std::make_unique<Family<Gauge>>(std::move(name), std::move(help),
                                             std::move(label_names),
                                             [] { return std::make_unique<Gauge>(); }),
             series_names);
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help,
                                          std::vector<double> bucket_bounds,
                                          std::vector<std::string> label_names) {
  CheckNotCounterName(name);
  CheckBucketBounds(bucket_bounds);
  CHECK(std::find(label_names.begin(), label_names.end(), "le") == label_names.end())
      << name << ": \"le\" is the bucket label of a histogram";
  std::vector<std::string> series_names = {name, absl::StrCat(name, "_bucket"),
                                           absl::StrCat(name, "_sum"),
                                           absl::StrCat(name, "_count")};
  return Add(std::make_unique<Family<Histogram>>(
                 std::move(name), std::move(help), std::move(label_names),
                 [bounds = std::move(bucket_bounds)] {
                   return std::make_unique<Histogram>(bounds);
                 }),
             series_names);
}

void Registry::AddCallbackGauge(std::string name, std::string help,
                                std::function<double()> value) {
  CheckNotCounterName(name);
  std::vector<std::string> series_names = {name};
  auto gauge = std::make_unique<CallbackGauge>(std::move(name), std::move(help), std::move(value));
  std::unique_lock<std::shared_mutex> lock(mu_);
  ClaimSeriesNames(series_names);
  families_.push_back(std::move(gauge));
}

std::string Registry::Render() const {
  std::string out;
  std::shared_lock<std::shared_mutex> lock(mu_);
  for (const std::unique_ptr<Collectable>& family : families_) family->Render(out);
  return out;
}

void Registry::ClaimSeriesNames(const std::vector<std::string>& series_names) {
  for (const std::string& series_name : series_names) {
    CHECK(!series_names_.contains(series_name))
        << "metric name \"" << series_name << "\" is registered twice";
  }
  series_names_.insert(series_names.begin(), series_names.end());
}

}  // namespace glaserve::metrics
