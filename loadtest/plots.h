// Optional PNG plots (--plot-dir): latency against load across the levels of a sweep,
// and ITL against context position and prompt length. Drawn by gnuplot (the Debian
// package gnuplot-nox) from the data files and scripts left next to the images, so a
// plot can be restyled and redrawn by hand.
#ifndef GLASERVE_LOADTEST_PLOTS_H_
#define GLASERVE_LOADTEST_PLOTS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "loadtest/report.h"

namespace glaserve::loadtest {

// FailedPrecondition when gnuplot is not installed (the data files are written anyway).
absl::Status WritePlots(const std::string& dir, const std::vector<Report>& levels, const Report& total);

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_PLOTS_H_
