// The DNS server's sockets and threads: one UDP reader handing datagrams to a few workers, one
// TCP acceptor with a thread per connection (bounded), all woken by one eventfd on stop().

#include "kite/dns/dns_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "kite/dns/cluster_resolver.h"
#include "kite/dns/forwarder.h"
#include "kite/dns/informer_records.h"
#include "kite/dns/query_handler.h"
#include "socket_io.h"

namespace kite::dns {
namespace {

constexpr std::size_t kMaxQueuedDatagrams = 1024;
constexpr std::size_t kMaxTcpConnections = 64;
constexpr std::chrono::seconds kTcpIdle{10};

struct Datagram {
  std::vector<std::uint8_t> packet;
  detail::SocketAddress from;
};

struct Connection {
  std::thread thread;
  std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace

struct DnsServer::Impl {
  DnsServerOptions options;
  std::unique_ptr<InformerRecords> informerRecords;
  const DnsRecords* records = nullptr;
  std::unique_ptr<ClusterResolver> resolver;
  std::unique_ptr<Forwarder> forwarder;
  std::unique_ptr<QueryHandler> handler;

  detail::UniqueFd udp;
  detail::UniqueFd tcp;
  detail::UniqueFd wake;
  std::uint16_t port = 0;
  bool started = false;

  std::mutex mutex;
  std::condition_variable cv;
  bool stopping = false;
  std::deque<Datagram> queue;
  std::list<Connection> connections;  // guarded by mutex
  std::thread udpThread;
  std::thread tcpThread;
  std::vector<std::thread> workers;

  // Waits until fd is readable or the server stops; false when stopping or timed out.
  bool waitReadable(int fd, std::chrono::milliseconds timeout) const {
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake.get(), POLLIN, 0}};
    while (true) {
      const int r = ::poll(fds, 2, static_cast<int>(timeout.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0 || (fds[1].revents & POLLIN) != 0) return false;
      return (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
    }
  }

  // Binds UDP and TCP to the same port. With port 0 the kernel picks the UDP port, which TCP
  // may already use on a busy host: then another pick.
  void bindSockets() {
    const auto address = detail::parseAddress(options.bindAddress, options.port);
    if (!address) {
      throw std::invalid_argument("bindAddress: not an IP address: " + options.bindAddress);
    }
    constexpr int kTries = 50;
    for (int attempt = 1;; ++attempt) {
      try {
        bindOnce(*address);
        break;
      } catch (const std::runtime_error&) {
        if (options.port != 0 || attempt == kTries) throw;
      }
    }
    wake = detail::UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake) throw std::runtime_error("dns: eventfd failed");
  }

  void bindOnce(const detail::SocketAddress& address) {
    udp = detail::UniqueFd(::socket(address.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!udp || ::bind(udp.get(), address.get(), address.length) != 0) {
      throw std::runtime_error("dns: cannot bind UDP " + detail::toString(address) + ": " +
                               std::strerror(errno));
    }
    detail::SocketAddress bound = address;
    bound.length = sizeof(bound.storage);
    ::getsockname(udp.get(), bound.get(), &bound.length);
    port = ntohs(bound.family() == AF_INET
                     ? reinterpret_cast<const sockaddr_in*>(&bound.storage)->sin_port
                     : reinterpret_cast<const sockaddr_in6*>(&bound.storage)->sin6_port);
    tcp = detail::UniqueFd(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    const int one = 1;
    if (tcp) ::setsockopt(tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (!tcp || ::bind(tcp.get(), bound.get(), bound.length) != 0 || ::listen(tcp.get(), 64) != 0) {
      const std::string error = std::strerror(errno);
      udp.reset();
      tcp.reset();
      throw std::runtime_error("dns: cannot listen on TCP " + detail::toString(bound) + ": " +
                               error);
    }
  }

  void readUdp() {
    std::vector<std::uint8_t> buf(65535);
    while (waitReadable(udp.get(), std::chrono::milliseconds(-1))) {
      Datagram d;
      d.from.length = sizeof(d.from.storage);
      const ssize_t n =
          ::recvfrom(udp.get(), buf.data(), buf.size(), MSG_DONTWAIT, d.from.get(), &d.from.length);
      if (n <= 0) continue;
      d.packet.assign(buf.begin(), buf.begin() + n);
      std::lock_guard lock(mutex);
      if (queue.size() >= kMaxQueuedDatagrams) continue;  // overloaded: the client retries
      queue.push_back(std::move(d));
      cv.notify_one();
    }
  }

  void work() {
    while (true) {
      Datagram d;
      {
        std::unique_lock lock(mutex);
        cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (stopping) return;
        d = std::move(queue.front());
        queue.pop_front();
      }
      const auto reply = handler->handle(d.packet, true);
      if (reply) {
        ::sendto(udp.get(), reply->data(), reply->size(), MSG_DONTWAIT, d.from.get(),
                 d.from.length);
      }
    }
  }

  void acceptTcp() {
    while (waitReadable(tcp.get(), std::chrono::milliseconds(-1))) {
      detail::UniqueFd fd(::accept4(tcp.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!fd) continue;
      std::lock_guard lock(mutex);
      reapConnections();
      if (connections.size() >= kMaxTcpConnections) continue;  // closed: too many already
      auto& c = connections.emplace_back();
      c.thread = std::thread([this, conn = std::move(fd), done = c.done]() mutable {
        serveTcp(conn.get());
        done->store(true);
      });
    }
  }

  // Joins the connection threads that ended; mutex held.
  void reapConnections() {
    for (auto it = connections.begin(); it != connections.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Queries one after another on a connection until the client closes it or idles.
  void serveTcp(int fd) const {
    while (waitReadable(fd, kTcpIdle)) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      const auto query = detail::readTcpMessage(fd, deadline);
      if (!query) return;
      const auto reply = handler->handle(*query, false);
      if (!reply) return;
      if (!detail::writeTcpMessage(fd, *reply, std::chrono::steady_clock::now() + kTcpIdle)) {
        return;
      }
    }
  }
};

DnsServer::DnsServer(client::Client& client, DnsServerOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->informerRecords = std::make_unique<InformerRecords>(client);
  impl_->records = impl_->informerRecords.get();
}

DnsServer::DnsServer(const DnsRecords& records, DnsServerOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->records = &records;
}

DnsServer::~DnsServer() { stop(); }

void DnsServer::start() {
  Impl& s = *impl_;
  if (s.started) return;
  const auto& o = s.options;
  if (o.clusterDomain.empty()) throw std::invalid_argument("clusterDomain: must not be empty");
  if (o.workers == 0) throw std::invalid_argument("workers: must be at least 1");
  const auto upstreams = o.upstreams.empty() ? readResolvConf(o.resolvConf) : o.upstreams;
  if (upstreams.empty()) {
    spdlog::warn(
        "dns: no upstream resolvers in {} (loopback ones are left out): names outside "
        "{} get SERVFAIL",
        o.resolvConf, o.clusterDomain);
  }
  s.forwarder = std::make_unique<Forwarder>(upstreams, o.upstreamTimeout);
  s.resolver = std::make_unique<ClusterResolver>(*s.records, o.clusterDomain, o.ttl);
  InformerRecords* informers = s.informerRecords.get();
  s.handler = std::make_unique<QueryHandler>(*s.resolver, *s.forwarder, [informers] {
    return informers == nullptr || informers->hasSynced();
  });
  s.bindSockets();
  if (informers) {
    informers->start();
    if (!informers->waitForSync(o.syncTimeout)) {
      spdlog::warn(
          "dns: Services and EndpointSlices not synced after {} ms; answering SERVFAIL "
          "for cluster names until they are",
          o.syncTimeout.count());
    }
  }
  s.stopping = false;
  s.udpThread = std::thread([&s] { s.readUdp(); });
  s.tcpThread = std::thread([&s] { s.acceptTcp(); });
  for (std::size_t i = 0; i < o.workers; ++i) s.workers.emplace_back([&s] { s.work(); });
  s.started = true;
  spdlog::info("dns: serving {} on {} port {} (UDP and TCP), {} upstream resolvers",
               o.clusterDomain, o.bindAddress, s.port, upstreams.size());
}

void DnsServer::stop() {
  Impl& s = *impl_;
  if (!s.started) {
    if (s.informerRecords) s.informerRecords->stop();
    return;
  }
  {
    std::lock_guard lock(s.mutex);
    s.stopping = true;
  }
  s.cv.notify_all();
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto w = ::write(s.wake.get(), &one, sizeof(one));
  s.udpThread.join();
  s.tcpThread.join();
  for (auto& t : s.workers) t.join();
  s.workers.clear();
  std::list<Connection> connections;
  {
    std::lock_guard lock(s.mutex);
    connections.swap(s.connections);
  }
  for (auto& c : connections) c.thread.join();
  if (s.informerRecords) s.informerRecords->stop();
  s.udp.reset();
  s.tcp.reset();
  s.wake.reset();
  s.queue.clear();
  s.started = false;
}

std::uint16_t DnsServer::port() const { return impl_->port; }

}  // namespace kite::dns
