#include "userspace_tcp_relay.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "userspace_socket.h"

namespace kite::proxy::userspace {

namespace {

// Per direction: enough for a good rate at low memory per connection (two per connection).
constexpr std::size_t kBufferSize = 16384;

// An attempt's time to connect grows with each endpoint tried (as upstream's userspace
// proxy dialled: 250 ms, 500 ms, 1 s, 2 s).
std::chrono::milliseconds attemptTimeout(std::size_t attempt) {
  return std::chrono::milliseconds(250 << std::min<std::size_t>(attempt, 3));
}

int socketError(int fd) {
  int error = 0;
  socklen_t length = sizeof(error);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
  return error;
}

}  // namespace

void TcpRelay::start(EventLoop& loop, UniqueFd client, const IpKey& clientIp,
                     std::shared_ptr<Balancer> balancer) {
  auto* relay = static_cast<TcpRelay*>(loop.adopt(
      std::make_unique<TcpRelay>(loop, std::move(client), clientIp, std::move(balancer))));
  relay->connectNext();
}

TcpRelay::TcpRelay(EventLoop& loop, UniqueFd client, const IpKey& clientIp,
                   std::shared_ptr<Balancer> balancer)
    : loop_(loop),
      client_(std::move(client)),
      clientIp_(clientIp),
      balancer_(std::move(balancer)) {}

TcpRelay::~TcpRelay() {
  if (client_) loop_.unwatch(client_.get());
  if (backend_) loop_.unwatch(backend_.get());
}

void TcpRelay::connectNext() {
  while (true) {
    if (backend_) {
      loop_.unwatch(backend_.get());
      backend_.reset();
    }
    const auto endpoint = balancer_->pick(clientIp_, tried_, Clock::now());
    if (!endpoint) {
      finish(true);  // nobody left to take it: refuse, as a port without a listener would
      return;
    }
    tried_.push_back(*endpoint);
    const SocketAddress address = socketAddress(endpoint->ip, endpoint->port, "endpoint");
    backend_ = UniqueFd(socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!backend_) continue;
    const int rc = connect(backend_.get(), address.raw(), address.length);
    if (rc == 0) {
      connected();
      return;
    }
    if (errno == EINPROGRESS) {
      connecting_ = true;
      connectDeadline_ = Clock::now() + attemptTimeout(tried_.size() - 1);
      loop_.watch(backend_.get(), EPOLLOUT, this);
      return;
    }
  }
}

void TcpRelay::connected() {
  connecting_ = false;
  balancer_.reset();  // no more picks: the Service may change or go meanwhile
  tried_.clear();
  up_.buffer.resize(kBufferSize);
  down_.buffer.resize(kBufferSize);
  if (pump()) updateWatches();
}

void TcpRelay::onEvents(std::uint32_t events) {
  if (finished_) return;
  if (connecting_) {
    if (socketError(backend_.get()) != 0) {
      connectNext();
    } else if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
      connected();
    }
    return;
  }
  if ((events & EPOLLERR) != 0 &&
      (socketError(client_.get()) != 0 || socketError(backend_.get()) != 0)) {
    finish(true);
    return;
  }
  if (pump()) updateWatches();
}

void TcpRelay::onTick(Clock::time_point now) {
  if (connecting_ && now >= connectDeadline_) connectNext();
}

bool TcpRelay::move(int from, int to, Direction& d, bool& progress) {
  while (true) {
    bool moved = false;
    if (!d.eof && d.room()) {
      const ssize_t n = recv(from, d.buffer.data() + d.end, d.buffer.size() - d.end, 0);
      if (n > 0) {
        d.end += static_cast<std::size_t>(n);
        moved = true;
      } else if (n == 0) {
        d.eof = true;
        moved = true;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return false;
      }
    }
    if (d.pending()) {
      const ssize_t n = send(to, d.buffer.data() + d.begin, d.end - d.begin, MSG_NOSIGNAL);
      if (n > 0) {
        d.begin += static_cast<std::size_t>(n);
        moved = true;
        if (d.begin == d.end) d.begin = d.end = 0;
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return false;
      }
    }
    if (d.eof && !d.pending() && !d.shutDown) {
      shutdown(to, SHUT_WR);
      d.shutDown = true;
      moved = true;
    }
    if (!moved) return true;
    progress = true;
  }
}

bool TcpRelay::pump() {
  bool progress = false;
  if (!move(client_.get(), backend_.get(), up_, progress) ||
      !move(backend_.get(), client_.get(), down_, progress)) {
    finish(true);
    return false;
  }
  if (up_.shutDown && down_.shutDown) {
    finish(false);
    return false;
  }
  return true;
}

void TcpRelay::updateWatches() {
  const auto wants = [](const Direction& in, const Direction& out) {
    std::uint32_t events = 0;
    if (!in.eof && in.room()) events |= EPOLLIN;
    if (out.pending()) events |= EPOLLOUT;
    return events;
  };
  loop_.watch(client_.get(), wants(up_, down_), this);
  loop_.watch(backend_.get(), wants(down_, up_), this);
}

void TcpRelay::finish(bool reset) {
  if (finished_) return;
  finished_ = true;
  connecting_ = false;
  if (client_) loop_.unwatch(client_.get());
  if (backend_) loop_.unwatch(backend_.get());
  if (reset) {
    resetAndClose(client_);
    resetAndClose(backend_);
  } else {
    client_.reset();
    backend_.reset();
  }
  loop_.release(this);
}

}  // namespace kite::proxy::userspace
