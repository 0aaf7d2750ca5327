#include "traffic.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <stdexcept>

#include "kite/ebpf/sock_lb.h"
#include "kite/proxy/ebpf_dataplane.h"
#include "kite/proxy/nft_rules.h"
#include "kite/proxy/nftables_dataplane.h"
#include "kite/proxy/userspace_dataplane.h"
#include "scratch.h"

namespace kite::proxy::testing {

ServicePortState service(const TestNetwork& net, const std::string& name, const std::string& ip,
                         int port, const std::vector<int>& pods, const std::string& proto) {
  ServicePortState p;
  p.namespace_ = "default";
  p.name = name;
  p.protocol = proto;
  p.clusterIP = ip;
  p.port = port;
  const bool ipv6 = ip.find(':') != std::string::npos;
  for (const int i : pods) p.endpoints.push_back({ipv6 ? net.podIPv6(i) : net.podIP(i), kPodPort});
  std::sort(p.endpoints.begin(), p.endpoints.end());
  return p;
}

DesiredState stateOf(const std::vector<ServicePortState>& ports) {
  DesiredState s;
  for (const auto& p : ports) s.services.emplace(p.key(), p);
  return s;
}

std::set<std::string> distinct(const std::vector<std::string>& lines) {
  return {lines.begin(), lines.end()};
}

std::map<std::string, int> counts(const std::vector<std::string>& lines) {
  std::map<std::string, int> out;
  for (const auto& line : lines) ++out[line];
  return out;
}

std::set<std::string> pods(const std::vector<std::string>& lines) {
  std::set<std::string> names;
  for (const auto& line : lines) names.insert(line.substr(0, line.find(' ')));
  return names;
}

std::set<std::string> peers(const std::vector<std::string>& lines) {
  std::set<std::string> out;
  for (const auto& line : lines) out.insert(line.substr(line.find(' ') + 1));
  return out;
}

InNamespace::InNamespace(const std::string& name)
    : original_(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {
  const int fd = open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  const bool ok = original_ >= 0 && fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
  if (fd >= 0) close(fd);
  if (!ok) {
    if (original_ >= 0) close(original_);
    throw std::runtime_error("cannot enter network namespace " + name);
  }
}

InNamespace::~InNamespace() {
  if (setns(original_, CLONE_NEWNET) != 0) std::abort();  // nothing may run elsewhere
  close(original_);
}

void Backend::start(const TestNetwork& net, const BackendOptions& options) {
  net_ = &net;
  dataplane_.reset();
  const InNamespace inside(net.nodeNs());
  dataplane_ = make(options);
}

void Backend::syncAll(const DesiredState& state) {
  const InNamespace inside(net_->nodeNs());
  dataplane_->syncAll(state);
}

void Backend::syncChanges(const DesiredState& applied, const DesiredState& next) {
  const InNamespace inside(net_->nodeNs());
  dataplane_->syncChanges(applied, next);
}

void Backend::cleanup() {
  const InNamespace inside(net_->nodeNs());
  dataplane_->cleanup();
}

namespace {

// The Service addresses of the tests (10.43.0.0/16 ClusterIPs, 192.0.2.0/24 external ones)
// that occur in `text`.
std::set<std::string> serviceAddressesIn(const std::string& text) {
  static const std::regex address(R"((10\.43|192\.0\.2)\.[0-9]+(\.[0-9]+)?)");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), address);
       it != std::sregex_iterator(); ++it) {
    out.insert(it->str());
  }
  return out;
}

nft::RulesOptions rulesOptions(const BackendOptions& options) {
  return {.clusterCidr = "10.42.0.0/16", .nodePortAddresses = options.nodePortAddresses};
}

class NftablesBackend final : public Backend {
 public:
  std::optional<std::set<std::string>> heldAddresses() const override {
    return serviceAddressesIn(net().run(net().nodeNs(), "nft list table inet kite-proxy"));
  }
  std::string leftovers() const override {
    const auto tables = net().run(net().nodeNs(), "nft list tables");
    return tables.find("kite-proxy") == std::string::npos ? "" : tables;
  }

 protected:
  std::unique_ptr<Dataplane> make(const BackendOptions& options) override {
    return std::make_unique<NftablesDataplane>(rulesOptions(options));
  }
};

// The programs attach to a cgroup v2 child of the test's own, and pin in a directory of its
// own: only client processes moved into that cgroup are translated, never the host's.
class EbpfBackend final : public Backend {
 public:
  EbpfBackend() = default;
  ~EbpfBackend() override { stop(); }  // before the cgroup and pins go
  EbpfBackend(const EbpfBackend&) = delete;
  EbpfBackend& operator=(const EbpfBackend&) = delete;
  std::string wrapClient(const std::string& command) const override {
    return cgroup_.wrap(command);
  }
  std::optional<std::size_t> heldBackends() const override {
    return ebpf::testing::heldBackends(pins_.path(), cgroup_.path()).total();
  }
  std::string leftovers() const override {
    std::string out;
    if (std::filesystem::exists(pins_.path())) out += "pins in " + pins_.path() + "\n";
    out += ebpf::testing::capture("bpftool cgroup show " + cgroup_.path());
    const auto tables = net().run(net().nodeNs(), "nft list tables");
    if (tables.find("kite-proxy") != std::string::npos) out += tables;
    return out;
  }

 protected:
  std::unique_ptr<Dataplane> make(const BackendOptions& options) override {
    EbpfOptions own{.pinDir = pins_.path(), .cgroup = cgroup_.path(), .northSouth = std::nullopt};
    if (options.northSouth) own.northSouth = rulesOptions(options);
    return std::make_unique<EbpfDataplane>(std::move(own));
  }

 private:
  ebpf::testing::TestCgroup cgroup_;
  ebpf::testing::TestPinDir pins_;
};

class UserspaceBackend final : public Backend {
 public:
  std::optional<std::set<std::string>> heldAddresses() const override {
    return serviceAddressesIn(net().run(net().nodeNs(), "ip -4 addr show dev kite-svc0"));
  }
  std::string leftovers() const override {
    return net().run(net().nodeNs(), "ip link show kite-svc0 2>/dev/null") +
           net().run(net().nodeNs(), "ip -4 addr | grep -F 10.43.0.");
  }
  std::size_t openRelays() override {
    return dynamic_cast<UserspaceDataplane&>(*dataplanePtr()).openConnections();
  }

 protected:
  std::unique_ptr<Dataplane> make(const BackendOptions& options) override {
    UserspaceOptions userspace{.nodePortAddresses = options.nodePortAddresses};
    if (options.udpIdleTimeout) userspace.udpIdleTimeout = *options.udpIdleTimeout;
    return std::make_unique<UserspaceDataplane>(std::move(userspace));
  }
};

}  // namespace

BackendKind nftablesBackend() {
  return {.traits = {.name = "nftables"},
          .make = [] { return std::unique_ptr<Backend>(std::make_unique<NftablesBackend>()); }};
}

BackendKind ebpfBackend() {
  return {.traits = {.name = "ebpf", .socketLevel = true},
          .make = [] { return std::unique_ptr<Backend>(std::make_unique<EbpfBackend>()); }};
}

BackendKind userspaceBackend() {
  return {.traits = {.name = "userspace",
                     .roundRobin = true,
                     .nftablesTable = false,
                     .keepsClientAddress = false},
          .make = [] { return std::unique_ptr<Backend>(std::make_unique<UserspaceBackend>()); }};
}

}  // namespace kite::proxy::testing
