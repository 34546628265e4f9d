#include "server/metrics/metric_names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace glaserve::metrics {
namespace {

// Spelled out rather than <regex>: this runs for every family and child created.
bool IsNameChar(char c, bool first, bool allow_colon) {
  if (absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_') return true;
  if (c == ':') return allow_colon;
  return !first && absl::ascii_isdigit(static_cast<unsigned char>(c));
}

bool IsValidName(absl::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], /*first=*/i == 0, allow_colon)) return false;
  }
  return true;
}

}  // namespace

bool IsValidMetricName(absl::string_view name) {
  return IsValidName(name, /*allow_colon=*/true);
}

bool IsValidLabelName(absl::string_view name) {
  return IsValidName(name, /*allow_colon=*/false) && !absl::StartsWith(name, "__");
}

}  // namespace glaserve::metrics
