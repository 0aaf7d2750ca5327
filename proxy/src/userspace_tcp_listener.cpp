#include "userspace_tcp_listener.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>

#include "userspace_tcp_relay.h"

namespace kite::proxy::userspace {

namespace {

// Accepts per wake-up at most this many, so one busy port cannot starve the others.
constexpr int kAcceptBatch = 64;

}  // namespace

TcpListener::TcpListener(EventLoop& loop, const std::string& ip, int port,
                         std::shared_ptr<Balancer> balancer, std::vector<Cidr> sourceRanges)
    : loop_(loop),
      fd_(listenTcp(ip, port)),
      balancer_(std::move(balancer)),
      sourceRanges_(std::move(sourceRanges)) {
  loop_.watch(fd_.get(), EPOLLIN, this);
}

TcpListener::~TcpListener() { loop_.unwatch(fd_.get()); }

void TcpListener::onEvents(std::uint32_t /*events*/) {
  for (int i = 0; i < kAcceptBatch; ++i) {
    SocketAddress peer;
    UniqueFd client(accept4(fd_.get(), peer.raw(), &peer.length, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!client) {
      // Out of descriptors: the pending connection stays readable, so waiting in epoll would
      // spin. Pause until the next tick; the backlog holds the clients meanwhile.
      if (errno == EMFILE || errno == ENFILE) {
        spdlog::warn("userspace proxy: out of file descriptors, accepting again shortly");
        loop_.unwatch(fd_.get());
        paused_ = true;
      }
      return;  // EAGAIN, or a connection reset before it was accepted
    }
    if (balancer_->empty() || !allowed(peer, sourceRanges_)) {
      resetAndClose(client);
      continue;
    }
    TcpRelay::start(loop_, std::move(client), ipKey(peer), balancer_);
  }
}

void TcpListener::onTick(Clock::time_point /*now*/) {
  if (!paused_) return;
  paused_ = false;
  loop_.watch(fd_.get(), EPOLLIN, this);
}

}  // namespace kite::proxy::userspace
