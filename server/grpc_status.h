// absl::Status -> grpc::Status: the codes are the same numbers by design.
#ifndef GLASERVE_SERVER_GRPC_STATUS_H_
#define GLASERVE_SERVER_GRPC_STATUS_H_

#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace glaserve {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace glaserve

#endif  // GLASERVE_SERVER_GRPC_STATUS_H_
