#include "userspace_udp_flow.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <system_error>

#include "userspace_socket.h"

namespace kite::proxy::userspace {

namespace {

// Answers handled per wake-up, so one chatty endpoint cannot starve the others.
constexpr int kBatch = 64;

}  // namespace

UdpFlow::UdpFlow(EventLoop& loop, const SocketAddress& client, const SocketAddress& local,
                 const EndpointTarget& endpoint, Reply reply)
    : loop_(loop),
      client_(client),
      local_(local),
      endpoint_(endpoint),
      reply_(std::move(reply)),
      lastActive_(Clock::now()) {
  const SocketAddress address = socketAddress(endpoint.ip, endpoint.port, "endpoint");
  fd_ = UniqueFd(socket(address.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_) throw std::system_error(errno, std::generic_category(), "UDP flow socket");
  if (connect(fd_.get(), address.raw(), address.length) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            "UDP flow to " + endpoint.ip + ":" + std::to_string(endpoint.port));
  }
  loop_.watch(fd_.get(), EPOLLIN, this);
}

UdpFlow::~UdpFlow() { loop_.unwatch(fd_.get()); }

bool UdpFlow::send(const char* data, std::size_t size) {
  lastActive_ = Clock::now();
  if (::send(fd_.get(), data, size, 0) < 0 && errno == ECONNREFUSED) broken_ = true;
  return !broken_;
}

void UdpFlow::onEvents(std::uint32_t /*events*/) {
  const std::span<char> buffer = datagramBuffer();
  for (int i = 0; i < kBatch; ++i) {
    const ssize_t n = recv(fd_.get(), buffer.data(), buffer.size(), 0);
    if (n < 0) {
      // ICMP port unreachable from the endpoint: the flow ends at the next tick.
      if (errno == ECONNREFUSED) broken_ = true;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        loop_.unwatch(fd_.get());
      }
      return;
    }
    lastActive_ = Clock::now();
    reply_(*this, buffer.data(), static_cast<std::size_t>(n));
  }
}

}  // namespace kite::proxy::userspace
