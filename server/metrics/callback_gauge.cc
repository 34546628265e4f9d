#include "server/metrics/callback_gauge.h"

#include <utility>

#include "engine/check.h"
#include "server/metrics/gauge.h"
#include "server/metrics/metric_names.h"
#include "server/metrics/text_format.h"

namespace glaserve::metrics {

CallbackGauge::CallbackGauge(std::string name, std::string help, std::function<double()> value)
    : name_(std::move(name)), help_(std::move(help)), value_(std::move(value)) {
  CHECK(IsValidMetricName(name_)) << "invalid metric name \"" << name_ << "\"";
  CHECK(!help_.empty()) << name_ << " needs help text";
  CHECK(value_ != nullptr) << name_ << " needs a callback";
}

void CallbackGauge::Render(std::string& out) const {
  AppendFamilyHeader(out, name_, help_, Gauge::kType);
  AppendSample(out, name_, /*labels=*/"", FormatValue(value_()));
}

}  // namespace glaserve::metrics
