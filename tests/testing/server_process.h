// A real `glaserve serve` process for out-of-process tests: started on a free loopback
// port, its port read from the line it prints, stopped with a signal.
#ifndef GLASERVE_TESTS_TESTING_SERVER_PROCESS_H_
#define GLASERVE_TESTS_TESTING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace glaserve::testing {

class ServerProcess {
 public:
  // Starts `build/bin/glaserve serve --host 127.0.0.1 --port 0 <args>` and waits (up to
  // 60 s) for it to print where it listens. port() is 0 when it failed to start.
  explicit ServerProcess(const std::vector<std::string>& args);
  ~ServerProcess();  // SIGKILLs the process if it still runs

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // The /metrics port when started with --metrics-port 0 (or any port), else 0.
  int metrics_port() const { return metrics_port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void Signal(int signal_number);
  // Waits for the process to exit; its exit code, or nullopt on timeout / death by signal.
  std::optional<int> Wait(int timeout_seconds);
  // Everything it wrote to stderr so far (drained on Wait).
  const std::string& stderr_text() const { return stderr_text_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
  int stderr_fd_ = -1;
  std::string stderr_text_;
};

// The directory holding the built executables (build/bin).
std::string BinDir();

}  // namespace glaserve::testing

#endif  // GLASERVE_TESTS_TESTING_SERVER_PROCESS_H_
