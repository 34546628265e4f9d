#include "tests/testing/prometheus_process.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/check.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace glaserve::testing {

constexpr char kPrometheus[] = "/usr/bin/prometheus";

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_GE(fd, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  CHECK_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  CHECK_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(fd);
  return ntohs(address.sin_port);
}

PrometheusProcess::PrometheusProcess(const std::vector<std::string>& targets) {
  std::string pattern = (std::filesystem::temp_directory_path() / "prometheus_XXXXXX").string();
  CHECK_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
  dir_ = pattern;
  std::ofstream config(dir_ / "prometheus.yml");
  config << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
         << "  - job_name: glaserve\n    static_configs:\n      - targets: [";
  for (size_t i = 0; i < targets.size(); ++i) config << (i ? ", '" : "'") << targets[i] << "'";
  config << "]\n";
  config.close();
  web_port_ = FreeLoopbackPort();
  std::vector<std::string> argv = {kPrometheus, absl::StrCat("--config.file=", (dir_ / "prometheus.yml").string()),
                                   absl::StrCat("--storage.tsdb.path=", (dir_ / "data").string()),
                                   absl::StrCat("--web.listen-address=127.0.0.1:", web_port_)};
  process_.Start(std::move(argv), dir_ / "prometheus.log", SIGKILL);
}

PrometheusProcess::~PrometheusProcess() {
  process_.Stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

bool PrometheusProcess::Exited() { return process_.Exited(); }

std::string PrometheusProcess::Log() const {
  std::ifstream in(dir_ / "prometheus.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool PrometheusProcess::WaitReady() {
  httplib::Client client("127.0.0.1", web_port_);
  client.set_connection_timeout(1);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < give_up && !Exited()) {
    httplib::Result response = client.Get("/-/ready");
    if (response && response->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::map<std::string, std::string> PrometheusProcess::Query(const std::string& query,
                                                            const std::string& by_label) const {
  httplib::Client client("127.0.0.1", web_port_);
  client.set_connection_timeout(1);
  client.set_read_timeout(5);
  std::map<std::string, std::string> values;
  httplib::Result response = client.Get("/api/v1/query", httplib::Params{{"query", query}}, httplib::Headers{});
  if (!response || response->status != 200) return values;
  const nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
  if (body.is_discarded() || body.value("status", "") != "success") return values;
  for (const nlohmann::json& series : body["data"]["result"]) {
    const nlohmann::json& labels = series["metric"];
    const std::string key = labels.contains(by_label) ? labels[by_label].get<std::string>() : "";
    values[key] = series["value"][1].get<std::string>();
  }
  return values;
}

}  // namespace glaserve::testing
