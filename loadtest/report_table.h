// The human-readable report printed on stdout: a row per level, then the whole run's
// latency percentiles, errors, and ITL against context position and prompt length.
#ifndef GLASERVE_LOADTEST_REPORT_TABLE_H_
#define GLASERVE_LOADTEST_REPORT_TABLE_H_

#include <string>
#include <vector>

#include "loadtest/report.h"

namespace glaserve::loadtest {

std::string FormatTables(const std::vector<Report>& levels, const Report& total);

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_REPORT_TABLE_H_
