// WaitUntilPortClosed against a real listening socket on loopback: it waits while the port
// accepts connections and returns once the socket is closed.
#include "server/port_probe.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace glaserve {
namespace {

// A socket listening on 127.0.0.1 at a free port.
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(listen(fd_, 64), 0);
    socklen_t length = sizeof(address);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
  }
  ~Listener() { Close(); }
  int port() const { return port_; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(PortProbeTest, WaitsWhileThePortAcceptsConnections) {
  Listener listener;
  const absl::Time start = absl::Now();
  EXPECT_FALSE(WaitUntilPortClosed("127.0.0.1", listener.port(), absl::Milliseconds(100)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
}

TEST(PortProbeTest, ReturnsOnceTheListenerCloses) {
  Listener listener;
  std::thread closer([&] {
    absl::SleepFor(absl::Milliseconds(100));
    listener.Close();
  });
  EXPECT_TRUE(WaitUntilPortClosed("127.0.0.1", listener.port(), absl::Seconds(10)));
  closer.join();
}

TEST(PortProbeTest, WildcardHostIsProbedOnLoopback) {
  Listener listener;
  EXPECT_FALSE(WaitUntilPortClosed("0.0.0.0", listener.port(), absl::Milliseconds(20)));
  const int port = listener.port();
  listener.Close();
  EXPECT_TRUE(WaitUntilPortClosed("0.0.0.0", port, absl::Seconds(1)));
}

}  // namespace
}  // namespace glaserve
