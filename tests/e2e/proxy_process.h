// A real load balancer in front of glaserve replicas for the deployment tests: Debian's
// nginx or HAProxy, run by the test in the foreground on a free loopback port with the
// config shipped in deploy/, in which only the replica addresses and the listening port
// are substituted. Killed when this object dies, and by the kernel if the test dies first.
#ifndef GLASERVE_TESTS_E2E_PROXY_PROCESS_H_
#define GLASERVE_TESTS_E2E_PROXY_PROCESS_H_

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/testing/child_process.h"

namespace glaserve::testing {

// The shipped config with each key replaced by its value; every key must occur exactly
// once (a config edited so that a key no longer matches fails the test, not silently).
// Returns "" (and fails the test) otherwise.
std::string RenderConfig(const std::filesystem::path& shipped, const std::map<std::string, std::string>& replace);

// deploy/nginx/ rendered into `dir` for two replicas at `replicas` ("127.0.0.1:PORT")
// listening on 127.0.0.1:`port`; returns the path of nginx.conf there, or "" on failure.
std::filesystem::path RenderNginxConfig(const std::filesystem::path& dir, const std::vector<std::string>& replicas,
                                        int port);
// deploy/haproxy/haproxy.cfg rendered the same way; returns the path of the file.
std::filesystem::path RenderHaproxyConfig(const std::filesystem::path& dir, const std::vector<std::string>& replicas,
                                          int port);

class ProxyProcess {
 public:
  enum class Kind { kNginx, kHaproxy };

  // Renders the config for `replicas` and starts the proxy; check ok() / WaitReady().
  ProxyProcess(Kind kind, const std::vector<std::string>& replicas);
  ~ProxyProcess();

  bool ok() const { return process_.started(); }
  // Waits (up to 20 s) until the proxy accepts connections; false if it exited.
  bool WaitReady();
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // nginx: error.log and access.log; HAProxy: its stderr log.
  std::string Log() const;

 private:
  bool Exited();

  std::filesystem::path dir_;
  int port_ = 0;
  ChildProcess process_;
};

}  // namespace glaserve::testing

#endif  // GLASERVE_TESTS_E2E_PROXY_PROCESS_H_
