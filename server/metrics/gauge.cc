#include "server/metrics/gauge.h"

#include "server/metrics/text_format.h"

namespace glaserve::metrics {

void Gauge::AppendSamples(std::string& out, absl::string_view name,
                          absl::string_view labels) const {
  AppendSample(out, name, labels, FormatValue(Value()));
}

}  // namespace glaserve::metrics
