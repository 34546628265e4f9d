#include "tests/e2e/proxy_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/check.h"
#include "gtest/gtest.h"
#include "tests/testing/prometheus_process.h"
#include "tests/testing/test_checkpoint.h"

namespace glaserve::testing {
namespace {

constexpr char kNginx[] = "/usr/sbin/nginx";
constexpr char kHaproxy[] = "/usr/sbin/haproxy";

std::filesystem::path DeployDir() { return std::filesystem::path(GLASERVE_SOURCE_DIR) / "deploy"; }

// The replica placeholders of the shipped configs: the compose service names.
std::map<std::string, std::string> ReplicaReplacements(const std::vector<std::string>& replicas) {
  CHECK_EQ(replicas.size(), 2u) << "the shipped configs name two replicas";
  return {{"glaserve-1:50051", replicas[0]}, {"glaserve-2:50051", replicas[1]}};
}

bool CanConnect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool connected = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return connected;
}

}  // namespace

std::string RenderConfig(const std::filesystem::path& shipped, const std::map<std::string, std::string>& replace) {
  std::string text = ReadFile(shipped);
  if (text.empty()) {
    ADD_FAILURE() << "cannot read " << shipped;
    return "";
  }
  for (const auto& [key, value] : replace) {
    const size_t first = text.find(key);
    if (first == std::string::npos || text.find(key, first + 1) != std::string::npos) {
      ADD_FAILURE() << shipped << ": '" << key << "' must occur exactly once";
      return "";
    }
    text.replace(first, key.size(), value);
  }
  return text;
}

std::filesystem::path RenderNginxConfig(const std::filesystem::path& dir, const std::vector<std::string>& replicas,
                                        int port) {
  std::map<std::string, std::string> replace = ReplicaReplacements(replicas);
  replace["listen 8080 "] = absl::StrCat("listen 127.0.0.1:", port, " ");
  const std::string site = RenderConfig(DeployDir() / "nginx" / "glaserve.conf", replace);
  const std::string main = ReadFile(DeployDir() / "nginx" / "nginx.conf");
  if (site.empty() || main.empty()) return "";
  WriteFile(dir / "glaserve.conf", site);
  WriteFile(dir / "nginx.conf", main);  // verbatim: it includes glaserve.conf from its own folder
  return dir / "nginx.conf";
}

std::filesystem::path RenderHaproxyConfig(const std::filesystem::path& dir, const std::vector<std::string>& replicas,
                                          int port) {
  std::map<std::string, std::string> replace = ReplicaReplacements(replicas);
  replace["bind :8080 "] = absl::StrCat("bind 127.0.0.1:", port, " ");
  const std::string config = RenderConfig(DeployDir() / "haproxy" / "haproxy.cfg", replace);
  if (config.empty()) return "";
  WriteFile(dir / "haproxy.cfg", config);
  return dir / "haproxy.cfg";
}

ProxyProcess::ProxyProcess(Kind kind, const std::vector<std::string>& replicas) {
  std::string pattern = (std::filesystem::temp_directory_path() / "glaserve_proxy_XXXXXX").string();
  CHECK_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
  dir_ = pattern;
  port_ = FreeLoopbackPort();
  std::vector<std::string> argv;
  if (kind == Kind::kNginx) {
    const std::filesystem::path config = RenderNginxConfig(dir_, replicas, port_);
    if (config.empty()) return;
    // -p: pid, logs and temp folders under the test's folder, so no root paths are used.
    argv = {kNginx, "-p", dir_.string() + "/", "-c", config.string()};
  } else {
    const std::filesystem::path config = RenderHaproxyConfig(dir_, replicas, port_);
    if (config.empty()) return;
    argv = {kHaproxy, "-db", "-f", config.string()};  // -db: foreground
  }
  // SIGTERM (not SIGKILL) if the test dies, so that nginx's master also stops its workers;
  // Stop() sends SIGTERM too: a fast shutdown for both proxies.
  process_.Start(std::move(argv), dir_ / "stderr.log", SIGTERM);
}

ProxyProcess::~ProxyProcess() {
  process_.Stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

bool ProxyProcess::Exited() { return process_.Exited(); }

bool ProxyProcess::WaitReady() {
  if (!process_.started()) return false;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < give_up && !Exited()) {
    if (CanConnect(port_)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string ProxyProcess::Log() const {
  std::string log = ReadFile(dir_ / "stderr.log");
  for (const char* name : {"error.log", "access.log"}) {
    if (std::filesystem::exists(dir_ / name)) absl::StrAppend(&log, "--- ", name, "\n", ReadFile(dir_ / name));
  }
  return log;
}

}  // namespace glaserve::testing
