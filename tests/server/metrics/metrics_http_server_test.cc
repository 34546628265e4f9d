#include "server/metrics/metrics_http_server.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "server/metrics/registry.h"

namespace glaserve::metrics {
namespace {

using ::testing::HasSubstr;

TEST(MetricsHttpServerTest, ServesMetricsAnd404) {
  Registry registry;
  Counter& requests = registry.AddCounter("glaserve_requests_total", "Requests.", {"code"})
                          .WithLabels({"ok"});
  requests.Increment(5);
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start(registry, "127.0.0.1", 0);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  httplib::Client client("127.0.0.1", (*server)->port());
  client.set_connection_timeout(5);
  client.set_read_timeout(5);
  httplib::Result response = client.Get("/metrics");
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->get_header_value("Content-Type"),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response->body, registry.Render());
  EXPECT_THAT(response->body, HasSubstr("glaserve_requests_total{code=\"ok\"} 5\n"));

  // Each scrape renders afresh.
  requests.Increment();
  response = client.Get("/metrics");
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_THAT(response->body, HasSubstr("glaserve_requests_total{code=\"ok\"} 6\n"));

  for (const char* path : {"/", "/metrics/extra", "/metricsx", "/other"}) {
    response = client.Get(path);
    ASSERT_TRUE(response) << path << ": " << httplib::to_string(response.error());
    EXPECT_EQ(response->status, 404) << path;
  }

  (*server)->Stop();
  (*server)->Stop();  // idempotent
  httplib::Client after_stop("127.0.0.1", (*server)->port());
  after_stop.set_connection_timeout(2);
  EXPECT_FALSE(after_stop.Get("/metrics")) << "still serving after Stop()";
}

TEST(MetricsHttpServerTest, PortInUseIsAnErrorNamingTheAddress) {
  Registry registry;
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> first =
      MetricsHttpServer::Start(registry, "127.0.0.1", 0);
  ASSERT_TRUE(first.ok()) << first.status();
  const int port = (*first)->port();
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> second =
      MetricsHttpServer::Start(registry, "127.0.0.1", port);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr(absl::StrCat("127.0.0.1:", port)));
}

TEST(MetricsHttpServerTest, BadAddressOrPort) {
  Registry registry;
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start(registry, "192.0.2.1", 0);  // TEST-NET-1: not ours
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(server.status().message(), HasSubstr("192.0.2.1:0"));
  server = MetricsHttpServer::Start(registry, "127.0.0.1", 70000);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MetricsHttpServerTest, StartAndStopAtOnce) {
  // Stop right after Start must not hang (httplib ignores stop() before its loop runs).
  Registry registry;
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
        MetricsHttpServer::Start(registry, "127.0.0.1", 0);
    ASSERT_TRUE(server.ok()) << server.status();
  }
}

}  // namespace
}  // namespace glaserve::metrics
