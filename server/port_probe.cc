#include "server/port_probe.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace glaserve {
namespace {

// 1 when every address of the host refused a connection (nothing listens), 0 when one
// accepted or did not answer within 100 ms (a full backlog leaves a connect pending),
// -1 when the host did not resolve (nothing to wait for).
int ProbeOnce(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  if (getaddrinfo(host.c_str(), absl::StrCat(port).c_str(), &hints, &addresses) != 0) return -1;
  int result = 1;
  for (addrinfo* a = addresses; a != nullptr && result == 1; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int error = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
    if (error == EINPROGRESS) {
      pollfd pending{fd, POLLOUT, 0};
      if (poll(&pending, 1, /*timeout_ms=*/100) == 1) {
        socklen_t length = sizeof(error);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      }
    }
    close(fd);
    if (error != ECONNREFUSED) result = 0;
  }
  freeaddrinfo(addresses);
  return result;
}

}  // namespace

bool WaitUntilPortClosed(const std::string& host, int port, absl::Duration timeout) {
  std::string target(absl::StripSuffix(absl::StripPrefix(host, "["), "]"));
  if (target.empty() || target == "0.0.0.0") target = "127.0.0.1";
  if (target == "::") target = "::1";
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const int refused = ProbeOnce(target, port);
    if (refused != 0) return refused == 1;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
}

}  // namespace glaserve
