// The JSON report (--report FILE). Its top level is the whole run (every level's
// requests together) plus "levels", one object of the same fields per level; see
// loadtest/README.md for the format.
#ifndef GLASERVE_LOADTEST_REPORT_JSON_H_
#define GLASERVE_LOADTEST_REPORT_JSON_H_

#include <vector>

#include "loadtest/report.h"
#include "nlohmann/json.hpp"

namespace glaserve::loadtest {

nlohmann::json SummaryToJson(const Summary& summary);
nlohmann::json ReportToJson(const Report& report);

// `run_info` (target, model, config, ...) is merged into the top level.
nlohmann::json RunToJson(const nlohmann::json& run_info, const Report& total, const std::vector<Report>& levels);

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_REPORT_JSON_H_
