// Whether a TCP port still accepts connections, seen from this host. The drain uses it to
// wait until gRPC has really closed its listener before reporting NOT_SERVING: a balancer
// that sees the health change must find the port closed, not land one more stream here.
#ifndef GLASERVE_SERVER_PORT_PROBE_H_
#define GLASERVE_SERVER_PORT_PROBE_H_

#include <string>

#include "absl/time/time.h"

namespace glaserve {

// Connects to host:port until a connection is refused or `timeout` passes; true when it
// was refused. A wildcard host ("0.0.0.0", "::", "[::]", "") is probed on loopback.
bool WaitUntilPortClosed(const std::string& host, int port, absl::Duration timeout);

}  // namespace glaserve

#endif  // GLASERVE_SERVER_PORT_PROBE_H_
