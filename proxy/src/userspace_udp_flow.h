#pragma once
// One UDP client of a Service port (its address and port) and the connected socket towards
// the endpoint picked for it: datagrams from the client go out on it, the endpoint's answers
// go back through the Service's socket from the address the client sent to. It ends after
// `idleTimeout` without traffic (upstream's --udp-timeout) or when the endpoint is
// unreachable, so the client's next datagram picks again.

#include <cstddef>
#include <functional>

#include "kite/proxy/desired_state.h"
#include "userspace_event_loop.h"
#include "userspace_fd.h"
#include "userspace_socket.h"

namespace kite::proxy::userspace {

class UdpFlow final : public EventLoop::Handler {
 public:
  // Called with each answer of the endpoint; the flow's client and local address are known
  // to the caller.
  using Reply = std::function<void(const UdpFlow& flow, const char* data, std::size_t size)>;

  // Throws std::system_error when the socket cannot be made.
  // `local` is the address the client sent to (its port unused), of the client's family.
  UdpFlow(EventLoop& loop, const SocketAddress& client, const SocketAddress& local,
          const EndpointTarget& endpoint, Reply reply);
  ~UdpFlow() override;
  UdpFlow(const UdpFlow&) = delete;
  UdpFlow& operator=(const UdpFlow&) = delete;

  void onEvents(std::uint32_t events) override;
  // Passes one client datagram on; false when the endpoint is known unreachable.
  bool send(const char* data, std::size_t size);

  const SocketAddress& client() const { return client_; }
  const SocketAddress& local() const { return local_; }
  const EndpointTarget& endpoint() const { return endpoint_; }
  bool broken() const { return broken_; }
  Clock::time_point lastActive() const { return lastActive_; }

 private:
  EventLoop& loop_;
  SocketAddress client_;
  SocketAddress local_;
  EndpointTarget endpoint_;
  Reply reply_;
  UniqueFd fd_;
  bool broken_ = false;
  Clock::time_point lastActive_;
};

}  // namespace kite::proxy::userspace
