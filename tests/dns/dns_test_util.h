#pragma once
// Helpers of the DNS server tests: dig run against the server, and a fake upstream resolver on
// a loopback port (UDP and TCP) so forwarding is tested without the internet.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kite/dns/message.h"

namespace kite::dns::testing {

// dig's full output for `dig @127.0.0.1 -p port name type extra...`.
inline std::string dig(std::uint16_t port, const std::string& name, const std::string& qtype,
                       const std::string& extra = "") {
  const std::string cmd = "dig @127.0.0.1 -p " + std::to_string(port) + " +tries=1 +time=3 " +
                          extra + " " + name + " " + qtype + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run dig");
  std::string out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  ::pclose(pipe);
  return out;
}

// The answer lines of `dig +short`.
inline std::string digShort(std::uint16_t port, const std::string& name, const std::string& qtype,
                            const std::string& extra = "") {
  return dig(port, name, qtype, "+short " + extra);
}

// Answers every A query with 192.0.2.<n> records: one, or 100 for names starting "big." (too
// long for 512-octet UDP, so that answer goes out truncated and whole only over TCP). Counts
// the queries it saw per transport.
class FakeUpstream {
 public:
  FakeUpstream() {
    // The UDP port is the kernel's pick; the same TCP port may be taken by another test running
    // in parallel, so try again with a new pick a few times.
    sockaddr_in addr{};
    bool bound = false;
    for (int attempt = 0; attempt < 50 && !bound; ++attempt) {
      if (attempt > 0) {
        ::close(udp_);
        ::close(tcp_);
      }
      udp_ = ::socket(AF_INET, SOCK_DGRAM, 0);
      tcp_ = ::socket(AF_INET, SOCK_STREAM, 0);
      addr = {};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof(addr);
      bound = ::bind(udp_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
              ::getsockname(udp_, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
              ::bind(tcp_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
              ::listen(tcp_, 8) == 0;
    }
    if (!bound) throw std::runtime_error("fake upstream: cannot bind");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeUpstream() {
    stop_ = true;
    thread_.join();
    ::close(udp_);
    ::close(tcp_);
  }
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int udpQueries() const { return udpQueries_; }
  int tcpQueries() const { return tcpQueries_; }

 private:
  static std::vector<std::uint8_t> answer(const std::vector<std::uint8_t>& packet, bool overUdp) {
    Message q = parseMessage(packet);
    Message r = makeReply(q, Rcode::NoError);
    const std::string& name = q.questions.at(0).name;
    if (q.questions[0].type == type::A) {
      const int count = name.starts_with("big.") ? 100 : 1;
      for (int i = 1; i <= count; ++i) {
        r.answers.push_back(aRecord(name, 60, "192.0.2." + std::to_string(i)));
      }
    }
    auto bytes = writeMessage(r);
    if (overUdp && bytes.size() > 512) {
      r.answers.clear();
      r.header.tc = true;
      bytes = writeMessage(r);
    }
    return bytes;
  }

  void run() {
    std::vector<std::uint8_t> buf(65535);
    while (!stop_) {
      pollfd fds[2] = {{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
      if (::poll(fds, 2, 50) <= 0) continue;
      if ((fds[0].revents & POLLIN) != 0) {
        sockaddr_in from{};
        socklen_t len = sizeof(from);
        const ssize_t n =
            ::recvfrom(udp_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0) continue;
        ++udpQueries_;
        const auto out = answer({buf.begin(), buf.begin() + n}, true);
        ::sendto(udp_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
      if ((fds[1].revents & POLLIN) != 0) {
        const int c = ::accept(tcp_, nullptr, nullptr);
        if (c < 0) continue;
        std::uint8_t prefix[2];
        if (::recv(c, prefix, 2, MSG_WAITALL) == 2) {
          const std::size_t len = (static_cast<std::size_t>(prefix[0]) << 8) | prefix[1];
          std::vector<std::uint8_t> q(len);
          if (::recv(c, q.data(), len, MSG_WAITALL) == static_cast<ssize_t>(len)) {
            ++tcpQueries_;
            auto out = answer(q, false);
            std::vector<std::uint8_t> framed = {static_cast<std::uint8_t>(out.size() >> 8),
                                                static_cast<std::uint8_t>(out.size() & 0xFF)};
            framed.insert(framed.end(), out.begin(), out.end());
            ::send(c, framed.data(), framed.size(), MSG_NOSIGNAL);
          }
        }
        ::close(c);
      }
    }
  }

  int udp_ = -1;
  int tcp_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> udpQueries_{0};
  std::atomic<int> tcpQueries_{0};
  std::thread thread_;
};

}  // namespace kite::dns::testing
