// libmnl socket, request/answer loop.

#include "kite/netlink/socket.h"

#include <libmnl/libmnl.h>

#include <cerrno>
#include <ctime>
#include <exception>
#include <vector>

namespace kite::netlink {

namespace {

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), std::string("netlink: ") + what);
}

// Dump answers come in messages of up to a page or two; this fits them whole.
constexpr std::size_t kBufferSize = 32768;

struct Forward {
  const std::function<void(const nlmsghdr*)>& onMessage;
  std::exception_ptr error;
};

// An exception must not unwind through libmnl's C frames: it is kept and rethrown after.
int forward(const nlmsghdr* message, void* data) {
  auto* state = static_cast<Forward*>(data);
  try {
    if (state->onMessage) state->onMessage(message);
  } catch (...) {
    state->error = std::current_exception();
    return MNL_CB_ERROR;
  }
  return MNL_CB_OK;
}

}  // namespace

void Socket::Closer::operator()(mnl_socket* socket) const { mnl_socket_close(socket); }

Socket::Socket(int bus) : socket_(mnl_socket_open(bus)) {
  if (!socket_) fail("cannot open socket");
  if (mnl_socket_bind(socket_.get(), 0, MNL_SOCKET_AUTOPID) < 0) fail("cannot bind socket");
  portId_ = mnl_socket_get_portid(socket_.get());
  // Distinct sequence numbers across sockets make a stray answer easy to tell apart.
  sequence_ = static_cast<std::uint32_t>(time(nullptr));
}

Socket::~Socket() = default;
Socket::Socket(Socket&&) noexcept = default;
Socket& Socket::operator=(Socket&&) noexcept = default;

void Socket::request(nlmsghdr* message, const std::function<void(const nlmsghdr*)>& onMessage) {
  message->nlmsg_seq = nextSequence();
  const std::uint32_t seq = message->nlmsg_seq;
  if (mnl_socket_sendto(socket_.get(), message, message->nlmsg_len) < 0) fail("send failed");
  std::vector<char> buffer(kBufferSize);
  while (true) {
    const ssize_t n = mnl_socket_recvfrom(socket_.get(), buffer.data(), buffer.size());
    if (n < 0) fail("receive failed");
    // mnl_cb_run: MNL_CB_STOP at NLMSG_DONE or a zero-error ACK, -1 with errno for an error.
    Forward state{onMessage, nullptr};
    const int rc =
        mnl_cb_run(buffer.data(), static_cast<std::size_t>(n), seq, portId_, forward, &state);
    if (state.error) std::rethrow_exception(state.error);
    if (rc < 0) fail("request refused");
    if (rc == MNL_CB_STOP) return;
  }
}

}  // namespace kite::netlink
