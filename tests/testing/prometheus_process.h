// A real Prometheus server (Debian's /usr/bin/prometheus) for integration tests: scrapes
// the given loopback targets every second; queried through its HTTP API. The process is
// killed when this object dies, and by the kernel if the test process dies first.
#ifndef GLASERVE_TESTS_TESTING_PROMETHEUS_PROCESS_H_
#define GLASERVE_TESTS_TESTING_PROMETHEUS_PROCESS_H_

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/testing/child_process.h"

namespace glaserve::testing {

class PrometheusProcess {
 public:
  // `targets` are "127.0.0.1:PORT" of /metrics endpoints, scraped as job "glaserve".
  explicit PrometheusProcess(const std::vector<std::string>& targets);
  ~PrometheusProcess();

  // Waits (up to 30 s) for /-/ready; false if Prometheus did not come up.
  bool WaitReady();
  // The instant-query result as (value of `by_label`) -> sample value as Prometheus
  // prints it; empty until the series exist.
  std::map<std::string, std::string> Query(const std::string& query, const std::string& by_label) const;
  bool Exited();
  std::string Log() const;

 private:
  std::filesystem::path dir_;
  int web_port_ = 0;
  ChildProcess process_;
};

// A loopback TCP port that was free a moment ago.
int FreeLoopbackPort();

}  // namespace glaserve::testing

#endif  // GLASERVE_TESTS_TESTING_PROMETHEUS_PROCESS_H_
