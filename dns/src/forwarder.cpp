// Forwarding to upstream resolvers: UDP first, TCP when the answer comes back truncated.

#include "kite/dns/forwarder.h"

#include <sys/socket.h>

#include <cerrno>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>

#include "kite/dns/message.h"
#include "socket_io.h"

namespace kite::dns {

struct Forwarder::Impl {
  detail::SocketAddress address;
};

namespace {

using detail::Deadline;

// Upstream ids are random, not the client's, so an off-path answer is harder to slip in.
std::uint16_t randomId() {
  static std::mutex mutex;
  static std::mt19937 generator{std::random_device{}()};
  std::lock_guard lock(mutex);
  return static_cast<std::uint16_t>(generator() & 0xFFFF);
}

void setId(std::vector<std::uint8_t>& message, std::uint16_t id) {
  message[0] = static_cast<std::uint8_t>(id >> 8);
  message[1] = static_cast<std::uint8_t>(id & 0xFF);
}

std::optional<std::vector<std::uint8_t>> askUdp(const detail::SocketAddress& upstream,
                                                const std::vector<std::uint8_t>& query,
                                                std::uint16_t id, Deadline deadline) {
  detail::UniqueFd fd(::socket(upstream.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return std::nullopt;
  // Connected: the kernel drops datagrams from any other address.
  if (::connect(fd.get(), upstream.get(), upstream.length) != 0) return std::nullopt;
  if (::send(fd.get(), query.data(), query.size(), MSG_NOSIGNAL) < 0) return std::nullopt;
  std::vector<std::uint8_t> buf(65535);
  while (detail::waitFor(fd.get(), false, deadline)) {
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return std::nullopt;  // e.g. ECONNREFUSED: nobody listens there
    }
    buf.resize(static_cast<std::size_t>(n));
    try {
      const Header h = parseHeader(buf);
      if (h.qr && h.id == id) return buf;
    } catch (const ParseError&) {
    }
    buf.assign(65535, 0);  // not our answer: keep waiting
  }
  return std::nullopt;
}

std::optional<std::vector<std::uint8_t>> askTcp(const detail::SocketAddress& upstream,
                                                const std::vector<std::uint8_t>& query,
                                                std::uint16_t id, Deadline deadline) {
  auto fd = detail::connectTcp(upstream, deadline);
  if (!fd) return std::nullopt;
  if (!detail::writeTcpMessage(fd.get(), query, deadline)) return std::nullopt;
  auto answer = detail::readTcpMessage(fd.get(), deadline);
  if (!answer) return std::nullopt;
  try {
    const Header h = parseHeader(*answer);
    if (h.qr && h.id == id) return answer;
  } catch (const ParseError&) {
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> readResolvConf(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string keyword;
    std::string value;
    if (!(words >> keyword >> value) || keyword != "nameserver") continue;
    // "fe80::1%eth0": the zone is not ours to use; leave such addresses out with bad ones.
    const auto address = detail::parseAddress(value, 53);
    if (!address || detail::isLoopback(*address)) continue;
    out.push_back(value.find(':') != std::string::npos ? "[" + value + "]" : value);
  }
  if (in.bad()) throw std::runtime_error("cannot read " + path);
  return out;
}

std::string upstreamResolvConf(const std::string& path, const std::string& fallback) {
  const auto usable = [](const std::string& file) {
    try {
      return !readResolvConf(file).empty();
    } catch (const std::runtime_error&) {
      return false;
    }
  };
  return usable(path) || !usable(fallback) ? path : fallback;
}

Forwarder::Forwarder(const std::vector<std::string>& upstreams, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
  for (const auto& u : upstreams) upstreams_.push_back({detail::parseHostPort(u, 53)});
}

Forwarder::~Forwarder() = default;

std::size_t Forwarder::upstreamCount() const { return upstreams_.size(); }

std::optional<std::vector<std::uint8_t>> Forwarder::forward(
    std::span<const std::uint8_t> query) const {
  if (query.size() < 12) return std::nullopt;
  const std::uint16_t clientId =
      static_cast<std::uint16_t>((static_cast<unsigned>(query[0]) << 8) | query[1]);
  std::vector<std::uint8_t> ours(query.begin(), query.end());
  for (const auto& upstream : upstreams_) {
    const std::uint16_t id = randomId();
    setId(ours, id);
    const Deadline deadline = std::chrono::steady_clock::now() + timeout_;
    auto answer = askUdp(upstream.address, ours, id, deadline);
    if (answer && parseHeader(*answer).tc) {
      // Truncated: the whole answer over TCP, the UDP one if TCP fails.
      if (auto full =
              askTcp(upstream.address, ours, id, std::chrono::steady_clock::now() + timeout_)) {
        answer = std::move(full);
      }
    }
    if (answer) {
      setId(*answer, clientId);
      return answer;
    }
  }
  return std::nullopt;
}

}  // namespace kite::dns
