#pragma once
// A TCP listener on one Service address and port (a ClusterIP, an external or LoadBalancer
// IP, or the node's addresses for a NodePort): every accepted connection becomes a TcpRelay
// to an endpoint of its balancer. Clients outside `sourceRanges` (loadBalancerSourceRanges;
// empty: everyone) get a reset.

#include <memory>
#include <string>
#include <vector>

#include "userspace_balancer.h"
#include "userspace_event_loop.h"
#include "userspace_fd.h"
#include "userspace_socket.h"

namespace kite::proxy::userspace {

class TcpListener final : public EventLoop::Handler {
 public:
  // Binds and listens; throws std::system_error naming the address.
  TcpListener(EventLoop& loop, const std::string& ip, int port, std::shared_ptr<Balancer> balancer,
              std::vector<Cidr> sourceRanges = {});
  ~TcpListener() override;
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  void onEvents(std::uint32_t events) override;
  // Listens again after running out of descriptors.
  void onTick(Clock::time_point now) override;

 private:
  EventLoop& loop_;
  UniqueFd fd_;
  std::shared_ptr<Balancer> balancer_;
  std::vector<Cidr> sourceRanges_;
  bool paused_ = false;
};

}  // namespace kite::proxy::userspace
