#include "server/metrics/metrics_http_server.h"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "server/metrics/registry.h"
#include "server/metrics/text_format.h"

namespace glaserve::metrics {
namespace {

// Scrapes are rare and short; a few workers cover Prometheus plus a person with curl.
constexpr size_t kNumWorkerThreads = 4;

// httplib's default sets SO_REUSEPORT, which would let a second glaserve silently share the
// port (and half the scrapes). SO_REUSEADDR alone still allows a quick restart.
void SetSocketOptions(socket_t sock) {
  int yes = 1;
  setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const Registry& registry, std::string host, int port) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics port ", port, " is out of range"));
  }
  auto server = std::make_unique<httplib::Server>();
  server->new_task_queue = [] { return new httplib::ThreadPool(kNumWorkerThreads); };
  server->set_socket_options(SetSocketOptions);
  server->Get("/metrics", [&registry](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry.Render(), kTextFormatContentType);
  });

  // Bound here rather than on the thread so that a taken port is this call's error.
  errno = 0;
  int bound_port = port;
  bool bound;
  if (port == 0) {
    bound_port = server->bind_to_any_port(host);
    bound = bound_port > 0;
  } else {
    bound = server->bind_to_port(host, port);
  }
  if (!bound) {
    const int error = errno;
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", host, ":", port,
                                               error != 0 ? ": " : "",
                                               error != 0 ? std::strerror(error) : ""));
  }
  return std::unique_ptr<MetricsHttpServer>(
      new MetricsHttpServer(std::move(server), std::move(host), bound_port));
}

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<httplib::Server> server, std::string host,
                                     int port)
    : server_(std::move(server)), host_(std::move(host)), port_(port) {
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  // httplib's stop() does nothing until the accept loop is marked running, so a Stop()
  // right after Start() would leave the thread blocked in accept: wait for the mark.
  while (!server_->is_running() && !listen_returned_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

void MetricsHttpServer::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace glaserve::metrics
