#include "server/health_command.h"

#include <chrono>
#include <cstdio>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "grpc/health/v1/health.grpc.pb.h"

ABSL_FLAG(std::string, addr, "127.0.0.1:50051", "health: the server to check, host:port.");
ABSL_FLAG(std::string, service, "", "health: the service to ask about; empty means the whole server.");
ABSL_FLAG(double, timeout, 5, "health: seconds to wait for the answer.");
ABSL_FLAG(bool, tls, false, "health: connect with TLS (system root certificates).");

namespace glaserve {

int RunHealthCommand() {
  const std::string addr = absl::GetFlag(FLAGS_addr);
  auto credentials = absl::GetFlag(FLAGS_tls) ? grpc::SslCredentials(grpc::SslCredentialsOptions())
                                              : grpc::InsecureChannelCredentials();
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(addr, credentials));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(absl::GetFlag(FLAGS_timeout) * 1000)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(absl::GetFlag(FLAGS_service));
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    std::fprintf(stderr, "glaserve health: %s: %s\n", addr.c_str(), status.error_message().c_str());
    return 2;
  }
  const std::string name = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
  std::printf("%s\n", name.c_str());
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}

}  // namespace glaserve
