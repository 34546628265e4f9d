#include "tests/testing/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "engine/check.h"

namespace glaserve::testing {

void ChildProcess::Start(std::vector<std::string> argv, const std::filesystem::path& log, int death_signal) {
  std::vector<char*> args;
  for (std::string& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  const std::string log_path = log.string();
  const pid_t parent = getpid();
  pid_ = fork();
  CHECK_GE(pid_, 0) << "fork failed";
  if (pid_ == 0) {
    // Only async-signal-safe calls between fork and exec.
    prctl(PR_SET_PDEATHSIG, death_signal);
    if (getppid() != parent) _exit(127);
    const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    execv(args[0], args.data());
    _exit(127);
  }
}

bool ChildProcess::Exited() {
  if (pid_ <= 0) return true;
  if (!exited_) exited_ = waitpid(pid_, nullptr, WNOHANG) == pid_;
  return exited_;
}

void ChildProcess::Stop() {
  if (Exited()) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 100 && !Exited(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!Exited()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    exited_ = true;
  }
}

}  // namespace glaserve::testing
