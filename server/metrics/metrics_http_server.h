// Serves GET /metrics from a Registry over plain HTTP on its own port, on a background
// thread, so Prometheus scrapes never go through the gRPC server.
#ifndef GLASERVE_SERVER_METRICS_METRICS_HTTP_SERVER_H_
#define GLASERVE_SERVER_METRICS_METRICS_HTTP_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace glaserve::metrics {

class Registry;

class MetricsHttpServer {
 public:
  // Binds `host`:`port` (port 0 picks a free one) and starts serving: GET /metrics answers
  // with registry.Render(), any other path with 404. `registry` must outlive the server.
  // Fails with INVALID_ARGUMENT for a port out of range and UNAVAILABLE, naming the
  // address, when it cannot bind (in use, no such interface).
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const Registry& registry,
                                                                  std::string host, int port);

  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;
  ~MetricsHttpServer();  // Stop()s

  const std::string& host() const { return host_; }
  int port() const { return port_; }  // the bound port, also when 0 was asked for

  // Closes the listening socket and joins the serving thread. Idempotent.
  void Stop();

 private:
  MetricsHttpServer(std::unique_ptr<httplib::Server> server, std::string host, int port);

  std::unique_ptr<httplib::Server> server_;
  std::atomic<bool> listen_returned_ = false;  // set by thread_ when the accept loop ends
  std::thread thread_;
  const std::string host_;
  const int port_;
};

}  // namespace glaserve::metrics

#endif  // GLASERVE_SERVER_METRICS_METRICS_HTTP_SERVER_H_
