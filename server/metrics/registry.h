// The set of metric families one process exports, and their rendering as one scrape body.
// Families are registered once at startup and live as long as the registry; the references
// returned here (and the children they hand out) stay valid for that long.
//
//   Registry registry;
//   Family<Counter>& requests = registry.AddCounter(
//       "glaserve_requests_total", "Requests finished, by reason.", {"finish_reason"});
//   Counter& finished_by_length = requests.WithLabels({"length"});  // cache this
//   finished_by_length.Increment();                                 // hot path: one atomic add
#ifndef GLASERVE_SERVER_METRICS_REGISTRY_H_
#define GLASERVE_SERVER_METRICS_REGISTRY_H_

#include <functional>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "server/metrics/collectable.h"
#include "server/metrics/counter.h"
#include "server/metrics/family.h"
#include "server/metrics/gauge.h"
#include "server/metrics/histogram.h"

namespace glaserve::metrics {

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Every Add CHECKs the names (metric_names.h) and that no series name is taken twice,
  // counting a histogram's _bucket/_sum/_count. Counter names must end in "_total" and no
  // other type's may, which is what promtool expects of format 0.0.4.
  Family<Counter>& AddCounter(std::string name, std::string help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(std::string name, std::string help,
                          std::vector<std::string> label_names = {});
  // `bucket_bounds`: see buckets.h. "le" is reserved for the buckets, not a label name.
  Family<Histogram>& AddHistogram(std::string name, std::string help,
                                  std::vector<double> bucket_bounds,
                                  std::vector<std::string> label_names = {});
  // An unlabelled gauge read by calling `value` at each scrape (see callback_gauge.h).
  // Whatever `value` refers to must outlive the last Render.
  void AddCallbackGauge(std::string name, std::string help, std::function<double()> value);

  // All families in registration order, in Prometheus text format 0.0.4. Thread-safe.
  std::string Render() const;

 private:
  // CHECKs that `name` and the series names derived from it are free, then takes them.
  // Call with mu_ held.
  void ClaimSeriesNames(const std::vector<std::string>& series_names);
  template <typename Metric>
  Family<Metric>& Add(std::unique_ptr<Family<Metric>> family,
                      const std::vector<std::string>& series_names);

  // A standard mutex, not absl::Mutex: ThreadSanitizer sees pthread locks but not the
  // futexes of Debian's uninstrumented abseil, and would report races it cannot rule out.
  mutable std::shared_mutex mu_;
  std::vector<std::unique_ptr<Collectable>> families_;  // guarded by mu_
  std::set<std::string> series_names_;                  // guarded by mu_
};

}  // namespace glaserve::metrics

#endif  // GLASERVE_SERVER_METRICS_REGISTRY_H_
