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

// How a client of TestNetwork::connect makes its attempts.
struct ClientOptions {
  // UDP: one source port for every datagram (the same conntrack entry for all); 0 picks a new
  // one each time.
  int sourcePort = 0;
  // Seconds an attempt may take before it counts as TIMEOUT.
  double timeout = 2.0;
  // Appends " <ip>:<port>" to each answer: the peer as the client's socket tells it
  // (getpeername, or recvfrom's source for unconnected UDP).
  bool showPeer = false;
  // Rewrites the client's command line before it runs (the eBPF tests move the process into
  // their cgroup this way); empty: run as it is.
  std::function<std::string(const std::string&)> wrap{};
  // Binds the client's socket to this address first (a namespace with several, as a test
  // of its own may make); empty: the kernel picks.
  std::string sourceAddress{};
};

// Shell helpers of the traffic tests: a command that must succeed; a command's stdout; a
// program started in the background with its stdout on /dev/null (servers must not hold the
// test's stdout open).
void sh(const std::string& command);
std::string capture(const std::string& command);
pid_t spawn(const std::vector<std::string>& args);

// Runs fn on a thread that entered network namespace `ns` (setns acts on the calling thread
// only, so the test's own thread stays where it is). Rethrows fn's exception.
void inNamespace(const std::string& ns, const std::function<void()>& fn);

// A network namespace with its loopback up; dualStack: addresses need no duplicate address
// detection there (usable at once).
void addNamespace(const std::string& ns, bool dualStack);

// The client behind TestNetwork::connect (python3), for tests with namespaces of their own:
// written to a file `script`, runClient makes `count` attempts from namespace `ns`, with the
// same protocols, options and answers as TestNetwork::connect.
extern const char* const kEchoClient;
std::vector<std::string> runClient(const std::string& script, const std::string& ns,
                                   const std::string& proto, const std::string& ip, int port,
                                   int count, const ClientOptions& options);

// A python3 echo server for dual-stack pods (argv: name, port, ready file): answers its name
// on TCP and UDP, IPv6 and IPv4 alike (sockets with IPV6_V6ONLY off); touches the ready file
// once listening.
extern const char* const kDualStackEchoServer;

// How a TestNetwork is built.
struct NetworkOptions {
  // The pods have fd00:42:<i+1>::2 too and serve on both families (kDualStackEchoServer), the
  // node is fd00:99::1 towards the client fd00:99::2 (ULA addresses only, no duplicate address
  // detection, so usable at once).
  bool dualStack = false;
  // The node has a default route (per family) into a veth nobody answers on, as a real node
  // has one: traffic to an unknown address leaves and times out. Without it such a connect
  // fails in the routing lookup at once (ERR <errno>), which a test may want to tell apart.
  bool defaultRoute = true;
};

class TestNetwork {
 public:
  // Pods are named a, b, c...: pod i has 10.42.<i+1>.2 and serves `port` (TCP and UDP).
  TestNetwork(int pods, int port, const NetworkOptions& options);
  TestNetwork(int pods, int port, bool dualStack = false)
      : TestNetwork(pods, port, NetworkOptions{.dualStack = dualStack}) {}
  ~TestNetwork();
  TestNetwork(const TestNetwork&) = delete;
  TestNetwork& operator=(const TestNetwork&) = delete;

  std::string podIP(int i) const { return "10.42." + std::to_string(i + 1) + ".2"; }
  std::string podIPv6(int i) const { return "fd00:42:" + std::to_string(i + 1) + "::2"; }
  std::string podName(int i) const { return std::string(1, static_cast<char>('a' + i)); }
  const std::string& nodeNs() const { return node_; }
  const std::string& clientNs() const { return client_; }
  std::string podNs(int i) const { return pods_.at(static_cast<std::size_t>(i)); }

  // `count` attempts from namespace `ns`, each on a new socket; one line each: the answering
  // pod's name, REFUSED, TIMEOUT or ERR <errno>. proto: tcp, tcp6 (an IPv6 socket to the
  // IPv4-mapped address), udp (a connected socket), udp-reconnect (as udp, then the socket
  // connects again, to the loopback, before it is closed) or udp-sendto (an unconnected one);
  // the socket's family follows `ip`.
  std::vector<std::string> connect(const std::string& ns, const std::string& proto,
                                   const std::string& ip, int port, int count,
                                   const ClientOptions& options) const;
  std::vector<std::string> connect(const std::string& ns, const std::string& proto,
                                   const std::string& ip, int port, int count,
                                   int sourcePort = 0) const {
    return connect(ns, proto, ip, port, count, ClientOptions{.sourcePort = sourcePort});
  }
  // Runs fn in a child process that entered the node's network namespace; throws with the
  // child's message when fn threw.
  void inNode(const std::function<void()>& fn) const;
  // A command's stdout, run in a namespace.
  std::string run(const std::string& ns, const std::string& command) const;

 private:
  void setUp(int pods, int port, const NetworkOptions& options);
  void addIPv6(int pods, bool defaultRoute);
  void tearDown();

  std::string dir_;
  std::string node_;
  std::string client_;
  std::vector<std::string> pods_;
  std::vector<pid_t> servers_;
};

}  // namespace kite::proxy::testing
