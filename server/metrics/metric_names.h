// The name rules of the Prometheus data model. A bad name is a bug in the code that
// registers the metric, so the registry CHECKs these rather than returning a Status.
#ifndef GLASERVE_SERVER_METRICS_METRIC_NAMES_H_
#define GLASERVE_SERVER_METRICS_METRIC_NAMES_H_

#include "absl/strings/string_view.h"

namespace glaserve::metrics {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(absl::string_view name);

// [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__", which Prometheus keeps for itself.
bool IsValidLabelName(absl::string_view name);

}  // namespace glaserve::metrics

#endif  // GLASERVE_SERVER_METRICS_METRIC_NAMES_H_
