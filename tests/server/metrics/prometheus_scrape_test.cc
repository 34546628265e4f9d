// The real consumer: a Prometheus server scrapes MetricsHttpServer over loopback and its
// query API must return our series, awkward label values included, with the values we set.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/check.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "server/metrics/metrics_http_server.h"
#include "server/metrics/registry.h"

namespace glaserve::metrics {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kScrapeTimeout = std::chrono::seconds(30);
constexpr char kAwkwardReason[] = "a \"quoted\" \\ back\nslash";

// A directory under the test temp dir, removed with everything in it.
class TempDirectory {
 public:
  TempDirectory() {
    std::string pattern = (std::filesystem::path(::testing::TempDir()) / "prometheus_XXXXXX");
    CHECK_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    path_ = pattern;
  }
  ~TempDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A child process whose stdout and stderr go to `log`, killed when this object dies (and
// by the kernel if the test process dies first), so a failing test leaves nothing behind.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log)
      : log_(log) {
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    const pid_t parent = getpid();
    pid_ = fork();
    CHECK_GE(pid_, 0) << "fork failed";
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
      }
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~ChildProcess() {
    if (Exited()) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100 && !Exited(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!Exited()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  bool Exited() {
    if (exited_) return true;
    exited_ = waitpid(pid_, nullptr, WNOHANG) == pid_;
    return exited_;
  }

  std::string Log() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  const std::filesystem::path log_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

// A loopback port that was free a moment ago, for Prometheus' own web listener.
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

// The instant-query result as label value of `by_label` -> sample value (as Prometheus
// prints it). Empty until the series exist.
std::map<std::string, std::string> Query(httplib::Client& client, const std::string& query,
                                         const std::string& by_label) {
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

TEST(PrometheusScrapeTest, RealPrometheusScrapesOurEndpoint) {
  const std::string prometheus = GLASERVE_PROMETHEUS;
  ASSERT_TRUE(std::filesystem::exists(prometheus))
      << prometheus << " is missing: install the Debian package `prometheus` "
      << "(scripts/install-deps.sh does)";

  Registry registry;
  Family<Counter>& requests = registry.AddCounter(
      "glaserve_test_requests_total", "Requests finished, by reason.", {"finish_reason"});
  requests.WithLabels({"stop"}).Increment(42);
  requests.WithLabels({kAwkwardReason}).Increment(7);
  registry.AddCallbackGauge("glaserve_test_slots_used", "Slots in use.", [] { return 3.0; });
  Histogram& latency =
      registry.AddHistogram("glaserve_test_latency_seconds", "Latency.", {0.125, 1})
          .WithLabels({});
  for (double v : {0.0625, 0.125, 0.5, 5.0}) latency.Observe(v);  // exact in binary

  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start(registry, "127.0.0.1", 0);
  ASSERT_TRUE(server.ok()) << server.status();

  TempDirectory dir;
  const std::filesystem::path config = dir.path() / "prometheus.yml";
  std::ofstream(config) << "global:\n"
                        << "  scrape_interval: 1s\n"
                        << "  scrape_timeout: 1s\n"
                        << "scrape_configs:\n"
                        << "  - job_name: glaserve\n"
                        << "    static_configs:\n"
                        << "      - targets: ['127.0.0.1:" << (*server)->port() << "']\n";
  const int web_port = FreeLoopbackPort();
  ChildProcess process({prometheus, absl::StrCat("--config.file=", config.string()),
                        absl::StrCat("--storage.tsdb.path=", (dir.path() / "data").string()),
                        absl::StrCat("--web.listen-address=127.0.0.1:", web_port)},
                       dir.path() / "prometheus.log");

  httplib::Client client("127.0.0.1", web_port);
  client.set_connection_timeout(1);
  client.set_read_timeout(5);
  const auto start_deadline = std::chrono::steady_clock::now() + kStartTimeout;
  bool ready = false;
  while (!ready && std::chrono::steady_clock::now() < start_deadline) {
    ASSERT_FALSE(process.Exited()) << "prometheus exited:\n" << process.Log();
    httplib::Result response = client.Get("/-/ready");
    ready = response && response->status == 200;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(ready) << "prometheus not ready after 30 s:\n" << process.Log();

  const std::map<std::string, std::string> expected_requests = {{"stop", "42"},
                                                                {kAwkwardReason, "7"}};
  std::map<std::string, std::string> up, found_requests, slots, buckets, count, sum;
  const auto scrape_deadline = std::chrono::steady_clock::now() + kScrapeTimeout;
  while (std::chrono::steady_clock::now() < scrape_deadline) {
    up = Query(client, "up", "job");
    found_requests = Query(client, "glaserve_test_requests_total", "finish_reason");
    slots = Query(client, "glaserve_test_slots_used", "job");
    buckets = Query(client, "glaserve_test_latency_seconds_bucket", "le");
    count = Query(client, "glaserve_test_latency_seconds_count", "job");
    sum = Query(client, "glaserve_test_latency_seconds_sum", "job");
    if (up["glaserve"] == "1" && found_requests == expected_requests && !slots.empty() &&
        buckets.size() == 3 && !count.empty() && !sum.empty()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_EQ(up["glaserve"], "1") << process.Log();
  EXPECT_EQ(found_requests, expected_requests) << process.Log();
  EXPECT_EQ(slots["glaserve"], "3");
  EXPECT_EQ(buckets, (std::map<std::string, std::string>{{"0.125", "2"}, {"1", "3"}, {"+Inf", "4"}}));
  EXPECT_EQ(count["glaserve"], "4");
  EXPECT_EQ(sum["glaserve"], "5.6875");
}

}  // namespace
}  // namespace glaserve::metrics
