#pragma once
// The private network `kite bench proxy` measures in: three network namespaces of its own,
//
//   client 10.99.0.2 --- 10.99.0.1 node 10.98.0.1 --- 10.98.0.2 backends
//
// The node forwards and holds the rules under test. The backends namespace owns all of
// 10.128.0.0/10 through a local route ("AnyIP"), so one TCP server bound to 0.0.0.0 answers
// for every endpoint address (a tiny HTTP server: `wrk` gets "ok", a bare connect is closed): N
// Services × M endpoints need no N×M interfaces. The host's namespace and ruleset are never
// touched; the destructor removes everything.

#include <sys/types.h>

#include <string>
#include <vector>

namespace kite::cmd::bench {

inline constexpr int kServicePort = 80;
inline constexpr int kBackendPort = 8080;
// Endpoint addresses; also the --cluster-cidr both backends masquerade outside of.
inline constexpr const char* kEndpointCidr = "10.128.0.0/10";
// Addresses per /24 we hand out (.1 to .250), so none ends in .0 or .255.
inline constexpr int kPerSubnet = 250;
// How many Services and endpoints the address plan has room for.
inline constexpr int kMaxServices = 16 * 256 * kPerSubnet;   // 10.96.0.0/12
inline constexpr int kMaxEndpoints = 64 * 256 * kPerSubnet;  // 10.128.0.0/10

// The ClusterIP of Service `index` (0-based), in 10.96.0.0/12.
std::string clusterIPOf(int index);
// The address of endpoint `index` (0-based), in 10.128.0.0/10.
std::string endpointIPOf(int index);

class BenchNetwork {
 public:
  BenchNetwork();
  ~BenchNetwork();
  BenchNetwork(const BenchNetwork&) = delete;
  BenchNetwork& operator=(const BenchNetwork&) = delete;

  // Paths under /run/netns, for setns().
  std::string nodePath() const { return "/run/netns/" + node_; }
  std::string clientPath() const { return "/run/netns/" + client_; }
  // Forgets the connections of earlier measurements: kills the TIME_WAIT sockets of the
  // client and backends namespaces (`ss -K`) and empties the node's conntrack table. Left
  // behind, they slowed the next backend by half or more: a masqueraded connection whose
  // 4-tuple at the server matches a TIME_WAIT socket of an earlier, differently translated
  // connection fails its timestamp check and waits for a SYN retransmit (nftables: 8.3k
  // req/s measured first, 3k after the NodePort runs).
  void forgetConnections() const;

  // The node's address on the client's link (where a NodePort answers from the client).
  static constexpr const char* kNodeIP = "10.99.0.1";

 private:
  void setUp();
  void tearDown() noexcept;
  void startServer();

  std::string node_;
  std::string client_;
  std::string backends_;
  pid_t server_ = -1;
};

// Moves the calling thread into a network namespace for its lifetime (setns is per thread:
// other threads and later forks of other threads stay where they are).
class NetnsScope {
 public:
  explicit NetnsScope(const std::string& path);
  ~NetnsScope();
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;

 private:
  int original_ = -1;
};

// Runs a program (no shell) and waits; throws naming the command when it fails.
void runProgram(const std::vector<std::string>& args);

}  // namespace kite::cmd::bench
