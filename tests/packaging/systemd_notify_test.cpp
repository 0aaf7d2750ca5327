// notifySystemdReady: the READY=1 datagram a Type=notify unit waits for.

#include "systemd_notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace kite::cmd {
namespace {

TEST(SystemdNotifyTest, SendsReadyToNotifySocket) {
  char dir[] = "/tmp/kite-notify-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/notify";
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, path.size());
  ASSERT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);

  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  notifySystemdReady();
  unsetenv("NOTIFY_SOCKET");

  char buffer[64] = {};
  const auto received = recv(fd, buffer, sizeof(buffer) - 1, MSG_DONTWAIT);
  EXPECT_EQ(std::string(buffer, received > 0 ? received : 0), "READY=1");
  close(fd);
  std::filesystem::remove_all(dir);
}

TEST(SystemdNotifyTest, NothingOutsideSystemdAndBadPathsAreNotFatal) {
  unsetenv("NOTIFY_SOCKET");
  notifySystemdReady();
  setenv("NOTIFY_SOCKET", "relative/path", 1);
  notifySystemdReady();
  setenv("NOTIFY_SOCKET", "/nonexistent/kite-notify", 1);
  notifySystemdReady();
  unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace kite::cmd
