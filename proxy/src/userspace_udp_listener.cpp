#include "userspace_udp_listener.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace kite::proxy::userspace {

namespace {

constexpr int kBatch = 64;

// Room for either family's packet info.
constexpr std::size_t kControlSize =
    std::max(CMSG_SPACE(sizeof(in_pktinfo)), CMSG_SPACE(sizeof(in6_pktinfo)));

// The destination of a received datagram, from its IP_PKTINFO or IPV6_PKTINFO.
SocketAddress destinationOf(msghdr& message, int family) {
  SocketAddress local;
  local.storage.ss_family = static_cast<sa_family_t>(family);
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof(info));
      reinterpret_cast<sockaddr_in*>(&local.storage)->sin_addr = info.ipi_addr;
      local.length = sizeof(sockaddr_in);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof(info));
      reinterpret_cast<sockaddr_in6*>(&local.storage)->sin6_addr = info.ipi6_addr;
      local.length = sizeof(sockaddr_in6);
    }
    // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
  }
  return local;
}

}  // namespace

UdpListener::UdpListener(EventLoop& loop, const std::string& ip, int port,
                         std::shared_ptr<Balancer> balancer, std::chrono::milliseconds idleTimeout,
                         std::vector<Cidr> sourceRanges)
    : loop_(loop),
      fd_(bindUdp(ip, port)),
      balancer_(std::move(balancer)),
      idleTimeout_(idleTimeout),
      sourceRanges_(std::move(sourceRanges)) {
  loop_.watch(fd_.get(), EPOLLIN, this);
}

UdpListener::~UdpListener() {
  flows_.clear();
  loop_.unwatch(fd_.get());
}

void UdpListener::onEvents(std::uint32_t /*events*/) {
  const std::span<char> buffer = datagramBuffer();
  std::array<char, kControlSize> control{};
  for (int i = 0; i < kBatch; ++i) {
    SocketAddress client;
    iovec io{buffer.data(), buffer.size()};
    msghdr message{};
    message.msg_name = client.raw();
    message.msg_namelen = client.length;
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    const ssize_t n = recvmsg(fd_.get(), &message, 0);
    if (n < 0) return;  // EAGAIN, or an ICMP error of an earlier answer
    client.length = message.msg_namelen;
    if (!allowed(client, sourceRanges_)) continue;
    const SocketAddress local = destinationOf(message, client.family());
    const EndpointKey key = endpointKey(client);
    auto it = flows_.find(key);
    if (it != flows_.end() && it->second->broken()) {
      loop_.retire(std::move(it->second));
      flows_.erase(it);
      it = flows_.end();
    }
    if (it == flows_.end()) {
      const auto endpoint = balancer_->pick(ipKey(client), {}, Clock::now());
      if (!endpoint) continue;
      auto flow = std::make_unique<UdpFlow>(
          loop_, client, local, *endpoint,
          [this](const UdpFlow& f, const char* data, std::size_t size) { reply(f, data, size); });
      it = flows_.emplace(key, std::move(flow)).first;
    }
    it->second->send(buffer.data(), static_cast<std::size_t>(n));
  }
}

void UdpListener::reply(const UdpFlow& flow, const char* data, std::size_t size) {
  SocketAddress client = flow.client();
  iovec io{const_cast<char*>(data), size};
  std::array<char, kControlSize> control{};
  msghdr message{};
  message.msg_name = client.raw();
  message.msg_namelen = client.length;
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control.data();
  message.msg_controllen = control.size();  // CMSG_FIRSTHDR needs room; trimmed below
  cmsghdr* c = CMSG_FIRSTHDR(&message);
  // The answer comes from where the client sent to (a Service address, not the node's).
  // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  if (client.family() == AF_INET6) {
    message.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo info{};
    info.ipi6_addr = reinterpret_cast<const sockaddr_in6*>(&flow.local().storage)->sin6_addr;
    std::memcpy(CMSG_DATA(c), &info, sizeof(info));
  } else {
    message.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo info{};
    info.ipi_spec_dst = reinterpret_cast<const sockaddr_in*>(&flow.local().storage)->sin_addr;
    std::memcpy(CMSG_DATA(c), &info, sizeof(info));
  }
  // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
  // A full socket buffer drops the answer, as the network may.
  sendmsg(fd_.get(), &message, MSG_DONTWAIT);
}

void UdpListener::onTick(Clock::time_point now) {
  const auto& endpoints = balancer_->endpoints();
  for (auto it = flows_.begin(); it != flows_.end();) {
    const UdpFlow& flow = *it->second;
    const bool gone = !std::binary_search(endpoints.begin(), endpoints.end(), flow.endpoint());
    if (flow.broken() || gone || now - flow.lastActive() > idleTimeout_) {
      loop_.retire(std::move(it->second));
      it = flows_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace kite::proxy::userspace
