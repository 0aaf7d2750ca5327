#pragma once
// The IPv4 NetworkPolicy truth table's traffic (network_policy_netns_test.cpp): an echo server
// per "pod" namespace on every port the cases use, and one exchange checked by content.

#include <span>
#include <string>
#include <thread>
#include <vector>

namespace kite::proxy::testing {

// A TCP and UDP echo server in namespace `ns`, on a thread of its own: answers
// "<name>:<what it got>" on each of the ports.
class EchoServer {
 public:
  EchoServer(const std::string& ns, std::string name, std::span<const int> tcpPorts,
             std::span<const int> udpPorts);
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

 private:
  void bindAll(const std::string& ns, std::span<const int> udpPorts);
  void serve();
  void answerTcp(int listener) const;
  void answerUdp(int fd) const;

  std::string name_;
  std::vector<int> tcpPorts_;
  int stop_[2] = {-1, -1};
  std::vector<int> sockets_;  // the TCP listeners first, then the UDP sockets
  std::thread thread_;
};

// One exchange from namespace `ns` (from address `source` when not empty): "ok" when the
// answer is "<expected>:<token>", else what went wrong.
std::string exchange(const std::string& ns, const std::string& source, const std::string& proto,
                     const std::string& ip, int port, const std::string& expected);

}  // namespace kite::proxy::testing
