// A metric family: one name, help text and fixed label names, and one child Metric
// (Counter, Gauge or Histogram) per distinct tuple of label values. Finding a child takes a
// lock and a map lookup, so callers look it up once and keep the reference; updates through
// it never touch the family again.
#ifndef GLASERVE_SERVER_METRICS_FAMILY_H_
#define GLASERVE_SERVER_METRICS_FAMILY_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/check.h"
#include "server/metrics/collectable.h"
#include "server/metrics/metric_names.h"
#include "server/metrics/text_format.h"

namespace glaserve::metrics {

template <typename Metric>
class Family final : public Collectable {
 public:
  using MetricFactory = std::function<std::unique_ptr<Metric>()>;

  // CHECKs the names (metric_names.h), that label names are distinct and that help is
  // given (promtool flags a family without one). A family without labels creates its one
  // child at once, so it is exported as 0 before the first update.
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         MetricFactory make_metric)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        make_metric_(std::move(make_metric)) {
    CHECK(IsValidMetricName(name_)) << "invalid metric name \"" << name_ << "\"";
    CHECK(!help_.empty()) << name_ << " needs help text";
    std::set<std::string> seen;
    for (const std::string& label_name : label_names_) {
      CHECK(IsValidLabelName(label_name))
          << name_ << ": invalid label name \"" << label_name << "\"";
      CHECK(seen.insert(label_name).second) << name_ << ": duplicate label \"" << label_name << "\"";
    }
    if (label_names_.empty()) WithLabels({});
  }

  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The child for `label_values`, one per label name in order, created on first use. The
  // reference stays valid as long as the family (children are never removed).
  Metric& WithLabels(const std::vector<std::string>& label_values) {
    CHECK_EQ(label_values.size(), label_names_.size()) << name_ << ": wrong number of labels";
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = children_.try_emplace(label_values);
    if (inserted) {
      it->second.labels = FormatLabels(label_names_, label_values);
      it->second.metric = make_metric_();
    }
    return *it->second.metric;
  }

  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // HELP and TYPE once, then every child's samples in label-value order.
  void Render(std::string& out) const override {
    AppendFamilyHeader(out, name_, help_, Metric::kType);
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [label_values, child] : children_) {
      child.metric->AppendSamples(out, name_, child.labels);
    }
  }

 private:
  struct Child {
    std::string labels;  // rendered once: `a="x",b="y"`
    std::unique_ptr<Metric> metric;
  };

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const MetricFactory make_metric_;
  mutable std::mutex mu_;  // std::mutex for ThreadSanitizer's sake (see Registry::mu_)
  std::map<std::vector<std::string>, Child> children_;  // guarded by mu_
};

}  // namespace glaserve::metrics

#endif  // GLASERVE_SERVER_METRICS_FAMILY_H_
