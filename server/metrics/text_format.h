// The pieces of the Prometheus text exposition format 0.0.4 that every metric type shares:
// escaping, number formatting and the HELP/TYPE/sample lines. Pure functions of their input.
#ifndef GLASERVE_SERVER_METRICS_TEXT_FORMAT_H_
#define GLASERVE_SERVER_METRICS_TEXT_FORMAT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace glaserve::metrics {

// The Content-Type of a scrape response in this format.
inline constexpr char kTextFormatContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// `\` -> `\\`, `"` -> `\"`, newline -> `\n`. Bytes that are not valid UTF-8 become U+FFFD,
// because Prometheus rejects the whole scrape over one malformed label value.
std::string EscapeLabelValue(absl::string_view value);

// `\` -> `\\`, newline -> `\n` (quotes stay: HELP is not quoted); invalid UTF-8 -> U+FFFD.
std::string EscapeHelp(absl::string_view help);

// A sample value or `le` bound as Prometheus parses it: "+Inf", "-Inf", "NaN"; integral
// values below 2^53 as plain integers ("42", never "4.2e+01"); otherwise the shortest text
// that reads back as the same double ("0.25", "1e-09").
std::string FormatValue(double value);

// `a="x",b="y"`: the label set of one child, without braces, values escaped. Rendered once
// when the child is created rather than on every scrape.
std::string FormatLabels(absl::Span<const std::string> names,
                         absl::Span<const std::string> values);

// Appends the `# HELP` and `# TYPE` lines that head a family.
void AppendFamilyHeader(std::string& out, absl::string_view name, absl::string_view help,
                        absl::string_view type);

// Appends `name{labels} value`, without braces when `labels` is empty.
void AppendSample(std::string& out, absl::string_view name, absl::string_view labels,
                  absl::string_view value);

}  // namespace glaserve::metrics

#endif  // GLASERVE_SERVER_METRICS_TEXT_FORMAT_H_
