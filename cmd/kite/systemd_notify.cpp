#include "systemd_notify.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace kite::cmd {

void notifySystemdReady() {
  const char* target = std::getenv("NOTIFY_SOCKET");
  if (target == nullptr || *target == '\0') return;
  const std::string path(target);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path) || (path[0] != '/' && path[0] != '@')) {
    spdlog::warn("NOTIFY_SOCKET {}: not a socket path; not telling systemd we are ready", path);
    return;
  }
  path.copy(static_cast<char*>(address.sun_path), path.size());
  if (path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    spdlog::warn("sd_notify: socket: {}", std::strerror(errno));
    return;
  }
  constexpr std::string_view kReady = "READY=1";
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  if (sendto(fd, kReady.data(), kReady.size(), MSG_NOSIGNAL,
             reinterpret_cast<const sockaddr*>(&address), length) < 0) {
    spdlog::warn("sd_notify to {}: {}", path, std::strerror(errno));
  }
  close(fd);
}

}  // namespace kite::cmd
