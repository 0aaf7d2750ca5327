#pragma once
// A UDP socket on one Service address and port: each client (address and port) gets a
// UdpFlow to an endpoint of the balancer, kept while it is in use. Flows end when idle,
// when their endpoint answered "port unreachable" or left the Service. Datagrams from
// clients outside `sourceRanges` (empty: everyone) are dropped.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "userspace_balancer.h"
#include "userspace_event_loop.h"
#include "userspace_fd.h"
#include "userspace_socket.h"
#include "userspace_udp_flow.h"

namespace kite::proxy::userspace {

class UdpListener final : public EventLoop::Handler {
 public:
  // Binds; throws std::system_error naming the address.
  UdpListener(EventLoop& loop, const std::string& ip, int port, std::shared_ptr<Balancer> balancer,
              std::chrono::milliseconds idleTimeout, std::vector<Cidr> sourceRanges = {});
  ~UdpListener() override;
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  void onEvents(std::uint32_t events) override;
  void onTick(Clock::time_point now) override;
  std::size_t flows() const { return flows_.size(); }

 private:
  void reply(const UdpFlow& flow, const char* data, std::size_t size);

  EventLoop& loop_;
  UniqueFd fd_;
  std::shared_ptr<Balancer> balancer_;
  std::chrono::milliseconds idleTimeout_;
  std::vector<Cidr> sourceRanges_;
  // Keyed by the client's address and port.
  std::unordered_map<EndpointKey, std::unique_ptr<UdpFlow>, BytesHash> flows_;
};

}  // namespace kite::proxy::userspace
