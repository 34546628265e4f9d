// `glaserve health --addr HOST:PORT`: a gRPC health-check client (grpc-health-probe is not
// packaged for Debian), for container HEALTHCHECKs and scripts. Exit 0 when SERVING.
#ifndef GLASERVE_SERVER_HEALTH_COMMAND_H_
#define GLASERVE_SERVER_HEALTH_COMMAND_H_

namespace glaserve {

int RunHealthCommand();

}  // namespace glaserve

#endif  // GLASERVE_SERVER_HEALTH_COMMAND_H_
