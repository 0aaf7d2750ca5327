#include "userspace_udp_listener.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace kite::proxy::userspace {

namespace {

constexpr int kBatch = 64;

std::uint64_t keyOf(const sockaddr_in& client) {
  return (std::uint64_t{client.sin_addr.s_addr} << 16) | client.sin_port;
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
  std::array<char, CMSG_SPACE(sizeof(in_pktinfo))> control{};
  for (int i = 0; i < kBatch; ++i) {
    sockaddr_in client{};
    iovec io{buffer.data(), buffer.size()};
    msghdr message{};
    message.msg_name = &client;
    message.msg_namelen = sizeof(client);
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    const ssize_t n = recvmsg(fd_.get(), &message, 0);
    if (n < 0) return;  // EAGAIN, or an ICMP error of an earlier answer
    if (!allowed(client.sin_addr.s_addr, sourceRanges_)) continue;
    in_addr local{};
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo info{};
        std::memcpy(&info, CMSG_DATA(c), sizeof(info));
        local = info.ipi_addr;  // the address the client sent to
      }
    }
    const std::uint64_t key = keyOf(client);
    auto it = flows_.find(key);
    if (it != flows_.end() && it->second->broken()) {
      loop_.retire(std::move(it->second));
      flows_.erase(it);
      it = flows_.end();
    }
    if (it == flows_.end()) {
      const auto endpoint = balancer_->pick(client.sin_addr.s_addr, {}, Clock::now());
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
  sockaddr_in client = flow.client();
  iovec io{const_cast<char*>(data), size};
  std::array<char, CMSG_SPACE(sizeof(in_pktinfo))> control{};
  msghdr message{};
  message.msg_name = &client;
  message.msg_namelen = sizeof(client);
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control.data();
  message.msg_controllen = control.size();
  cmsghdr* c = CMSG_FIRSTHDR(&message);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
  in_pktinfo info{};
  info.ipi_spec_dst = flow.local();  // the answer comes from where the client sent to
  std::memcpy(CMSG_DATA(c), &info, sizeof(info));
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
