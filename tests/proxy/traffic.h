#pragma once
// What the proxy's real-traffic tests share: Service ports and states over the pods of
// netns.h, summaries of the clients' answers, entering a namespace on the calling thread, and
// the backends of the one Service suite (service_traffic_test.cpp): how each makes its
// proxy::Dataplane in the test network's node and how a client must run so that its
// connections are translated.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kite/proxy/dataplane.h"
#include "kite/proxy/desired_state.h"
#include "netns.h"

namespace kite::proxy::testing {

inline constexpr int kPodPort = 8080;

// A Service port `ip:port` whose endpoints are the given pods of `net` (on kPodPort), at
// their addresses of the family of `ip` (IPv6 ones need a dual-stack TestNetwork).
ServicePortState service(const TestNetwork& net, const std::string& name, const std::string& ip,
                         int port, const std::vector<int>& pods, const std::string& proto = "tcp");
DesiredState stateOf(const std::vector<ServicePortState>& ports);

// The distinct answers; how often each came; the pods (first word of each answer, with
// ClientOptions::showPeer); the peers (the rest).
std::set<std::string> distinct(const std::vector<std::string>& lines);
std::map<std::string, int> counts(const std::vector<std::string>& lines);
std::set<std::string> pods(const std::vector<std::string>& lines);
std::set<std::string> peers(const std::vector<std::string>& lines);

// Moves the calling thread into a named network namespace and back (threads it starts
// meanwhile stay there).
class InNamespace {
 public:
  explicit InNamespace(const std::string& name);
  ~InNamespace();
  InNamespace(const InNamespace&) = delete;
  InNamespace& operator=(const InNamespace&) = delete;

 private:
  int original_;
};

// What a test asks of the backend's dataplane; a backend ignores what it has no use for.
struct BackendOptions {
  // The eBPF backend keeps the nftables table for traffic from outside the node (its
  // `northSouth`); the others always serve that traffic. A test with clients outside the node
  // asks for it; without it, nothing but the socket programs can have translated a connection.
  bool northSouth = false;
  // --nodeport-addresses.
  std::vector<std::string> nodePortAddresses{};
  // The userspace backend's idle timeout of a UDP flow (its default when unset).
  std::optional<std::chrono::milliseconds> udpIdleTimeout{};
};

// One backend of the Service suite, in one TestNetwork. The dataplane lives in the network's
// node namespace: it is made there and every call into it is made from there.
class Backend {
 public:
  virtual ~Backend() = default;

  // Makes the dataplane (once per test, or again after stop()).
  void start(const TestNetwork& net, const BackendOptions& options);
  bool started() const { return dataplane_ != nullptr; }
  // Drops the dataplane; what it wrote stays (a stopped agent).
  void stop() { dataplane_.reset(); }
  void syncAll(const DesiredState& state);
  void syncChanges(const DesiredState& applied, const DesiredState& next);
  void cleanup();

  // How a client process must be started so that the dataplane translates its connections
  // (for the eBPF backend: inside the test's cgroup).
  virtual std::string wrapClient(const std::string& command) const { return command; }

  // What the dataplane holds in the kernel for Services now, where a test can read it: the
  // Service addresses (nftables table, userspace link), the backend elements of the eBPF maps.
  virtual std::optional<std::set<std::string>> heldAddresses() const { return std::nullopt; }
  virtual std::optional<std::size_t> heldBackends() const { return std::nullopt; }
  // After cleanup(): what the backend left behind, "" when nothing.
  virtual std::string leftovers() const = 0;
  // TCP connections the dataplane relays itself and has open now (userspace only).
  virtual std::size_t openRelays() { return 0; }

 protected:
  // Called inside the node's namespace.
  virtual std::unique_ptr<Dataplane> make(const BackendOptions& options) = 0;
  const TestNetwork& net() const { return *net_; }
  Dataplane* dataplanePtr() const { return dataplane_.get(); }

 private:
  const TestNetwork* net_ = nullptr;
  std::unique_ptr<Dataplane> dataplane_;
};

// How a backend behaves where the backends differ by design.
struct BackendTraits {
  std::string name;
  // Endpoints taken in turn (userspace) rather than at random.
  bool roundRobin = false;
  // The node's nftables table serves NodePorts and traffic from outside (and sets
  // route_localnet for NodePorts on 127.0.0.1).
  bool nftablesTable = true;
  // Translated once per socket at connect (eBPF): no NAT, so no conntrack flow to a backend.
  bool socketLevel = false;
  // Endpoints see the client's own address (not the node's, as when kite relays).
  bool keepsClientAddress = true;
};

struct BackendKind {
  BackendTraits traits;
  std::unique_ptr<Backend> (*make)();
};

BackendKind nftablesBackend();
BackendKind ebpfBackend();
BackendKind userspaceBackend();

}  // namespace kite::proxy::testing
