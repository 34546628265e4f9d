// A helper program (Prometheus, nginx, HAProxy) run by a test: its stdout and stderr go to
// a log file, it gets `death_signal` from the kernel if the test process dies first, and
// Stop() ends it with SIGTERM, then SIGKILL after 5 s.
#ifndef GLASERVE_TESTS_TESTING_CHILD_PROCESS_H_
#define GLASERVE_TESTS_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace glaserve::testing {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { Stop(); }

  // Starts argv[0] (an absolute path) with `argv`; CHECK-fails if fork fails.
  void Start(std::vector<std::string> argv, const std::filesystem::path& log, int death_signal);
  bool started() const { return pid_ > 0; }
  bool Exited();
  void Stop();

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
};

}  // namespace glaserve::testing

#endif  // GLASERVE_TESTS_TESTING_CHILD_PROCESS_H_
