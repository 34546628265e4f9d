#include "server/metrics/counter.h"

#include "server/metrics/text_format.h"

namespace glaserve::metrics {

void Counter::AppendSamples(std::string& out, absl::string_view name,
                            absl::string_view labels) const {
  AppendSample(out, name, labels, FormatValue(Value()));
}

}  // namespace glaserve::metrics
