#pragma once
// A throw-away network for the proxy's traffic tests, made of namespaces of its own: a "node"
// that routes, pods behind it (10.42.<i>.2, each with a TCP+UDP echo server answering its
// name), and a "client" outside the cluster (10.99.0.2, the node is 10.99.0.1). Everything
// is private to the namespaces and removed by the destructor; the host is never touched.

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace kite::proxy::testing {

class TestNetwork {
 public:
  // Pods are named a, b, c...: pod i has 10.42.<i+1>.2 and serves `port` (TCP and UDP).
  TestNetwork(int pods, int port);
  ~TestNetwork();
  TestNetwork(const TestNetwork&) = delete;
  TestNetwork& operator=(const TestNetwork&) = delete;

  std::string podIP(int i) const { return "10.42." + std::to_string(i + 1) + ".2"; }
  std::string podName(int i) const { return std::string(1, static_cast<char>('a' + i)); }
  const std::string& nodeNs() const { return node_; }
  const std::string& clientNs() const { return client_; }
  std::string podNs(int i) const { return pods_.at(static_cast<std::size_t>(i)); }

  // `count` connections (tcp) or datagrams (udp) from namespace `ns`; one line each: the
  // answering pod's name, REFUSED, TIMEOUT or ERR <errno>.
  // A UDP client may keep one source port (the same conntrack entry for all its datagrams);
  // 0 picks a new one each time.
  std::vector<std::string> connect(const std::string& ns, const std::string& proto,
                                   const std::string& ip, int port, int count,
                                   int sourcePort = 0) const;
  // Runs fn in a child process that entered the node's network namespace; throws with the
  // child's message when fn threw.
  void inNode(const std::function<void()>& fn) const;
  // A command's stdout, run in a namespace.
  std::string run(const std::string& ns, const std::string& command) const;

 private:
  void setUp(int pods, int port);
  void tearDown();

  std::string dir_;
  std::string node_;
  std::string client_;
  std::vector<std::string> pods_;
  std::vector<pid_t> servers_;
};

}  // namespace kite::proxy::testing
