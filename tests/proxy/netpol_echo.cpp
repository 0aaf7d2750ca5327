#include "netpol_echo.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <stdexcept>

#include "kite/base/unique_fd.h"
#include "netns.h"

namespace kite::proxy::testing {

namespace {

sockaddr_in address(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

bool waitFor(int fd, short events, int ms) {
  pollfd p{fd, events, 0};
  return poll(&p, 1, ms) == 1;
}

int bound(int type, int port) {
  const int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const auto a = address("0.0.0.0", port);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 ||
      (type == SOCK_STREAM && listen(fd, 16) != 0)) {
    throw std::runtime_error("bind " + std::to_string(port) + ": " + std::strerror(errno));
  }
  return fd;
}

}  // namespace

EchoServer::EchoServer(const std::string& ns, std::string name, std::span<const int> tcpPorts,
                       std::span<const int> udpPorts)
    : name_(std::move(name)), tcpPorts_(tcpPorts.begin(), tcpPorts.end()) {
  if (pipe(stop_) != 0) throw std::runtime_error("pipe");
  std::atomic<bool> ready = false;
  std::exception_ptr error;
  thread_ = std::thread([this, ns, udpPorts, &ready, &error] {
    try {
      bindAll(ns, udpPorts);
    } catch (...) {
      error = std::current_exception();
      ready = true;
      return;
    }
    ready = true;
    serve();
  });
  while (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (error) {
    thread_.join();
    std::rethrow_exception(error);
  }
}

EchoServer::~EchoServer() {
  (void)!write(stop_[1], "x", 1);
  thread_.join();
  for (const int fd : sockets_) close(fd);
  close(stop_[0]);
  close(stop_[1]);
}

void EchoServer::bindAll(const std::string& ns, std::span<const int> udpPorts) {
  const int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) throw std::runtime_error("setns " + ns);
  close(fd);
  for (const int port : tcpPorts_) sockets_.push_back(bound(SOCK_STREAM, port));
  for (const int port : udpPorts) sockets_.push_back(bound(SOCK_DGRAM, port));
}

void EchoServer::serve() {
  std::vector<pollfd> fds{{stop_[0], POLLIN, 0}};
  for (const int fd : sockets_) fds.push_back({fd, POLLIN, 0});
  while (true) {
    if (poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents != 0) return;
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      if (i <= tcpPorts_.size()) {
        answerTcp(fds[i].fd);
      } else {
        answerUdp(fds[i].fd);
      }
    }
  }
}

void EchoServer::answerTcp(int listener) const {
  const base::UniqueFd c(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (c.get() < 0 || !waitFor(c.get(), POLLIN, 1000)) return;
  char buf[256];
  const auto n = recv(c.get(), buf, sizeof buf, 0);
  if (n <= 0) return;
  const std::string reply = name_ + ":" + std::string(buf, static_cast<std::size_t>(n));
  (void)send(c.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
}

void EchoServer::answerUdp(int fd) const {
  char buf[256];
  sockaddr_in from{};
  socklen_t len = sizeof from;
  const auto n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (n <= 0) return;
  const std::string reply = name_ + ":" + std::string(buf, static_cast<std::size_t>(n));
  (void)sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
}

// One exchange from a namespace (optionally from a given source address): "ok" when the
// answer is "<expected>:<token>", else what went wrong.
std::string exchange(const std::string& ns, const std::string& source, const std::string& proto,
                     const std::string& ip, int port, const std::string& expected) {
  static int counter = 0;
  const std::string token = "t" + std::to_string(++counter) + "-" + std::to_string(getpid());
  std::string result;
  inNamespace(ns, [&] {
    const base::UniqueFd s(
        socket(AF_INET, (proto == "tcp" ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK, 0));
    if (!source.empty()) {
      const auto from = address(source, 0);
      if (bind(s.get(), reinterpret_cast<const sockaddr*>(&from), sizeof from) != 0) {
        throw std::runtime_error("bind " + source);
      }
    }
    const auto to = address(ip, port);
    if (connect(s.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0 &&
        errno != EINPROGRESS) {
      result = std::string("connect: ") + std::strerror(errno);
      return;
    }
    if (proto == "tcp") {
      if (!waitFor(s.get(), POLLOUT, 1000)) {
        result = "timeout";
        return;
      }
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        result = std::strerror(err);
        return;
      }
    }
    if (send(s.get(), token.data(), token.size(), MSG_NOSIGNAL) < 0) {
      result = std::string("send: ") + std::strerror(errno);
      return;
    }
    if (!waitFor(s.get(), POLLIN, 1000)) {
      result = "timeout";
      return;
    }
    char buf[256];
    const auto n = recv(s.get(), buf, sizeof buf, 0);
    if (n < 0) {
      result = std::strerror(errno);
      return;
    }
    const std::string got(buf, static_cast<std::size_t>(n));
    result = got == expected + ":" + token ? "ok" : "wrong answer \"" + got + "\"";
  });
  return result;
}

}  // namespace kite::proxy::testing
