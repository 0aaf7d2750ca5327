#pragma once
// A netlink socket (libmnl) owned for its lifetime: opened and bound on construction, closed
// by the destructor. One request at a time: request() sends one message and hands every
// answer to a callback until the kernel's acknowledgement or the end of a dump.
//
//   netlink::Socket rt(NETLINK_ROUTE);
//   rt.request(message, [](const nlmsghdr* m) { ... });

#include <cstdint>
#include <functional>
#include <memory>
#include <system_error>

struct mnl_socket;
struct nlmsghdr;

namespace kite::netlink {

class Socket {
 public:
  // bus: NETLINK_ROUTE, NETLINK_NETFILTER...; throws std::system_error.
  explicit Socket(int bus);
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  Socket(Socket&&) noexcept;
  Socket& operator=(Socket&&) noexcept;

  // The sequence number the next request() must carry (it stamps it itself too).
  std::uint32_t nextSequence() { return ++sequence_; }

  // Sends `message` (its nlmsg_seq is set here; it must carry NLM_F_ACK or NLM_F_DUMP) and runs
  // onMessage for every data message of the answer. Throws std::system_error with the kernel's
  // errno when it refuses.
  void request(nlmsghdr* message, const std::function<void(const nlmsghdr*)>& onMessage = {});

 private:
  struct Closer {
    void operator()(mnl_socket* socket) const;
  };
  std::unique_ptr<mnl_socket, Closer> socket_;
  std::uint32_t portId_ = 0;
  std::uint32_t sequence_ = 0;
};

}  // namespace kite::netlink
