#pragma once
// One relayed TCP connection: the accepted client socket and a connection to an endpoint
// the balancer picked, bytes copied both ways through a buffer per direction, half-closes
// passed on (a FIN read from one side is a shutdown of the other once its bytes are out), a
// reset passed on as a reset. An endpoint that refuses or does not answer within the
// attempt's timeout is replaced by the next one; when none is left the client gets a reset.
// The event loop owns it (adopt) and releases it when both directions are done.

#include <netinet/in.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "kite/proxy/desired_state.h"
#include "userspace_balancer.h"
#include "userspace_event_loop.h"
#include "userspace_fd.h"
#include "userspace_socket.h"

namespace kite::proxy::userspace {

class TcpRelay final : public EventLoop::Handler {
 public:
  // Starts relaying `client` (adopted by `loop`).
  static void start(EventLoop& loop, UniqueFd client, const IpKey& clientIp,
                    std::shared_ptr<Balancer> balancer);

  TcpRelay(EventLoop& loop, UniqueFd client, const IpKey& clientIp,
           std::shared_ptr<Balancer> balancer);
  ~TcpRelay() override;
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  void onEvents(std::uint32_t events) override;
  void onTick(Clock::time_point now) override;

 private:
  struct Direction {
    std::vector<char> buffer;
    std::size_t begin = 0;
    std::size_t end = 0;
    bool eof = false;       // the source sent its FIN
    bool shutDown = false;  // passed on to the destination
    bool pending() const { return begin < end; }
    bool room() const { return end < buffer.size(); }
  };

  void connectNext();
  void connected();
  // Moves bytes until nothing moves; false when the relay is over.
  bool pump();
  // Reads from `from` into `d` and writes `d` out to `to`; false on a reset or error.
  static bool move(int from, int to, Direction& d, bool& progress);
  void updateWatches();
  void finish(bool reset);

  EventLoop& loop_;
  UniqueFd client_;
  UniqueFd backend_;
  IpKey clientIp_;
  std::shared_ptr<Balancer> balancer_;
  std::vector<EndpointTarget> tried_;
  Clock::time_point connectDeadline_{};
  bool connecting_ = false;
  bool finished_ = false;
  Direction up_;    // client -> endpoint
  Direction down_;  // endpoint -> client
};

}  // namespace kite::proxy::userspace
