#pragma once
// Forwarding of the names outside the cluster to upstream resolvers: over UDP, asked again
// over TCP when the UDP answer is truncated, each upstream in turn until one answers.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kite::dns {

// The nameserver lines of a resolv.conf, as "ip" texts, loopback addresses left out: a
// resolver on this host could be this very server and the query would loop. A missing file
// gives no upstreams (std::runtime_error only when it exists and cannot be read).
std::vector<std::string> readResolvConf(const std::string& path);

// The resolv.conf naming the host's real upstreams, as k3s picks it for the kubelet: `path`
// when it has a usable (non-loopback) nameserver; else `fallback`, systemd-resolved's list of
// the upstreams behind its 127.0.0.53 stub, when that has one; else `path`.
std::string upstreamResolvConf(const std::string& path,
                               const std::string& fallback = "/run/systemd/resolve/resolv.conf");

class Forwarder {
 public:
  // upstreams: "1.2.3.4", "1.2.3.4:5353", "[fd00::1]:53" (std::invalid_argument otherwise).
  // timeout: how long one upstream has for one answer.
  Forwarder(const std::vector<std::string>& upstreams, std::chrono::milliseconds timeout);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // The first upstream answer to query (raw bytes, the query's own id), nullopt when no
  // upstream answered in time. Thread-safe.
  std::optional<std::vector<std::uint8_t>> forward(std::span<const std::uint8_t> query) const;

  std::size_t upstreamCount() const;

 private:
  struct Impl;
  std::vector<Impl> upstreams_;
  std::chrono::milliseconds timeout_;
};

}  // namespace kite::dns
