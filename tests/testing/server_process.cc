#include "tests/testing/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <thread>

namespace glaserve::testing {

std::string BinDir() { return GLASERVE_BIN_DIR; }

ServerProcess::ServerProcess(const std::vector<std::string>& args) {
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) return;
  const std::string binary = BinDir() + "/glaserve";
  // --metrics-port -1 unless the test asks for one: parallel tests must not share 9400.
  std::vector<std::string> argv = {binary, "serve", "--host", "127.0.0.1", "--port", "0"};
  bool has_metrics_port = false;
  for (const std::string& arg : args) has_metrics_port |= arg.rfind("--metrics-port", 0) == 0;
  if (!has_metrics_port) argv.insert(argv.end(), {"--metrics-port", "-1"});
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    close(out_pipe[0]);
    close(err_pipe[0]);
    std::vector<char*> c_argv;
    for (std::string& arg : argv) c_argv.push_back(arg.data());
    c_argv.push_back(nullptr);
    execv(binary.c_str(), c_argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  stderr_fd_ = err_pipe[0];
  fcntl(stderr_fd_, F_SETFL, O_NONBLOCK);
  // Read stdout until the "serving ... on 127.0.0.1:PORT" line.
  std::string out;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  const std::regex serving(R"(serving .* on 127\.0\.0\.1:(\d+))");
  const std::regex metrics(R"(metrics on http://127\.0\.0\.1:(\d+)/metrics)");
  while (std::chrono::steady_clock::now() < give_up) {
    pollfd fds{out_pipe[0], POLLIN, 0};
    if (poll(&fds, 1, 200) <= 0) continue;
    char buffer[512];
    ssize_t n = read(out_pipe[0], buffer, sizeof(buffer));
    if (n <= 0) break;  // exited before serving
    out.append(buffer, n);
    std::smatch match;
    if (std::regex_search(out, match, metrics)) metrics_port_ = std::stoi(match[1]);
    if (std::regex_search(out, match, serving)) {
      port_ = std::stoi(match[1]);
      break;
    }
  }
  close(out_pipe[0]);
  if (port_ == 0) {
    char buffer[4096];
    ssize_t n;
    while ((n = read(stderr_fd_, buffer, sizeof(buffer))) > 0) stderr_text_.append(buffer, n);
    std::fprintf(stderr, "glaserve serve did not start; stdout: %s\nstderr: %s\n", out.c_str(),
                 stderr_text_.c_str());
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stderr_fd_ >= 0) close(stderr_fd_);
}

void ServerProcess::Signal(int signal_number) {
  if (pid_ > 0) kill(pid_, signal_number);
}

std::optional<int> ServerProcess::Wait(int timeout_seconds) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (pid_ > 0 && std::chrono::steady_clock::now() < give_up) {
    char buffer[4096];
    ssize_t n;
    while ((n = read(stderr_fd_, buffer, sizeof(buffer))) > 0) stderr_text_.append(buffer, n);
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      while ((n = read(stderr_fd_, buffer, sizeof(buffer))) > 0) stderr_text_.append(buffer, n);
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::nullopt;
}

}  // namespace glaserve::testing
