// NetworkPolicies + Pods + Namespaces -> the policies this node enforces for its pods.

#include "kite/proxy/network_policy_state.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "kite/api/labels.h"

namespace kite::proxy::netpol {

namespace {

using api::core::v1::Namespace;
using api::core::v1::Pod;
using api::networking::v1::NetworkPolicy;
using api::networking::v1::NetworkPolicyPeer;
using api::networking::v1::NetworkPolicyPort;

constexpr const char* kNamespaceNameLabel = "kubernetes.io/metadata.name";

// A pod as policies see it: where it is, its labels, its address of each family it has.
struct PodView {
  const Pod* pod;
  std::string ip;   // IPv4, "" when none
  std::string ip6;  // IPv6 in canonical form, "" when none
  uint32_t address = 0;
  Ipv6Address address6 = 0;
  bool local = false;

  // The pod's addresses (one or two), IPv4 first.
  std::vector<std::string> ips() const {
    std::vector<std::string> out;
    if (!ip.empty()) out.push_back(ip);
    if (!ip6.empty()) out.push_back(ip6);
    return out;
  }
};

// The first address of each family among status.podIP and status.podIPs, in canonical text
// (the rule text and the lookups of a pod's entries compare addresses as text).
void addressesOf(const Pod& pod, PodView& view) {
  std::vector<std::string> candidates{pod.status.podIP};
  for (const auto& ip : pod.status.podIPs) candidates.push_back(ip.ip);
  for (const auto& ip : candidates) {
    // parseCidr would take "10.42.0.7/24" for its network: a pod IP has no prefix.
    if (ip.empty() || ip.find('/') != std::string::npos) continue;
    try {
      if (!isIPv6(ip) && view.ip.empty()) {
        view.address = parseCidr(ip).first;
        view.ip = formatAddress(view.address);
      } else if (isIPv6(ip) && view.ip6.empty()) {
        view.address6 = parseCidr6(ip).first;
        view.ip6 = formatAddress6(view.address6);
      }
    } catch (const std::invalid_argument&) {
      // Not an address: not one of the pod's addresses.
    }
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// "tcp"/"udp"/"sctp" from a NetworkPolicyPort's or ContainerPort's protocol ("" is TCP).
std::string protocolOf(const std::string& protocol) {
  std::string p = lower(protocol.empty() ? "TCP" : protocol);
  if (p != "tcp" && p != "udp" && p != "sctp") {
    throw std::invalid_argument("protocol: unsupported value \"" + protocol +
                                "\" (supported: TCP, UDP, SCTP)");
  }
  return p;
}

// The addresses a peer allows, per family.
struct PeerRanges {
  std::vector<AddressRange> v4;
  std::vector<Address6Range> v6;
};

// The pods by namespace, and what selectors matched, remembered for the whole computation:
// policies share selectors (a namespace's policies mostly name the same few peer groups), so
// each distinct selector scans the pods once, not once per policy and rule.
class PodIndex {
 public:
  PodIndex(const std::vector<PodView>& pods, std::map<std::string, api::labels::Set> labels)
      : pods_(pods), namespaceLabels_(std::move(labels)) {
    for (const auto& pod : pods_) byNamespace_[pod.pod->metadata.namespace_].push_back(&pod);
  }

  const std::vector<PodView>& all() const { return pods_; }

  const api::labels::Set& labelsOfNamespace(const std::string& ns) const {
    static const api::labels::Set kNone;
    const auto it = namespaceLabels_.find(ns);
    return it != namespaceLabels_.end() ? it->second : kNone;
  }

  // This node's pods of `ns` that `selector` matches.
  const std::vector<const PodView*>& localIn(const std::string& ns,
                                             const api::labels::Selector& selector) {
    auto [it, added] = memo_.try_emplace(key('t', ns, selector, nullptr));
    if (added) {
      for (const auto* pod : in(ns)) {
        if (pod->local && selector.matches(pod->pod->metadata.labels)) it->second.push_back(pod);
      }
    }
    return it->second;
  }

  // The pods `pods` matches in `ns`, or in every namespace `namespaces` matches when set.
  const std::vector<const PodView*>& peers(const std::string& ns, const api::labels::Selector& pods,
                                           const api::labels::Selector* namespaces) {
    auto [it, added] = memo_.try_emplace(key('p', ns, pods, namespaces));
    auto& out = it->second;
    if (!added) return out;
    auto scan = [&](const std::vector<const PodView*>& list) {
      for (const auto* pod : list) {
        if (pods.matches(pod->pod->metadata.labels)) out.push_back(pod);
      }
    };
    if (namespaces == nullptr) {
      scan(in(ns));
    } else {
      for (const auto& [name, list] : byNamespace_) {
        if (namespaces->matches(labelsOfNamespace(name))) scan(list);
      }
    }
    return out;
  }

  // The addresses of peers(...) of each family, sorted and merged.
  const PeerRanges& peerRanges(const std::string& ns, const api::labels::Selector& pods,
                               const api::labels::Selector* namespaces) {
    auto [it, added] = ranges_.try_emplace(key('r', ns, pods, namespaces));
    auto& out = it->second;
    if (added) {
      for (const auto* pod : peers(ns, pods, namespaces)) {
        if (!pod->ip.empty()) out.v4.push_back({pod->address, pod->address});
        if (!pod->ip6.empty()) out.v6.push_back({pod->address6, pod->address6});
      }
      out.v4 = mergeRanges(std::move(out.v4));
      out.v6 = mergeRanges(std::move(out.v6));
    }
    return out;
  }

 private:
  const std::vector<const PodView*>& in(const std::string& ns) const {
    static const std::vector<const PodView*> kNone;
    const auto it = byNamespace_.find(ns);
    return it != byNamespace_.end() ? it->second : kNone;
  }

  // Selector strings hold no NUL, so the parts cannot run into each other.
  static std::string key(char kind, const std::string& ns, const api::labels::Selector& pods,
                         const api::labels::Selector* namespaces) {
    std::string k(1, kind);
    if (namespaces == nullptr) {
      k += ns;
    } else {
      k += '\x01';
      k += namespaces->toString();
    }
    k += '\0';
    k += pods.toString();
    return k;
  }

  const std::vector<PodView>& pods_;
  std::map<std::string, api::labels::Set> namespaceLabels_;
  std::map<std::string, std::vector<const PodView*>> byNamespace_;
  std::map<std::string, std::vector<const PodView*>> memo_;
  std::map<std::string, PeerRanges> ranges_;
};

// One policy's computation, collecting errors instead of throwing.
class PolicyBuilder {
 public:
  PolicyBuilder(const NetworkPolicy& policy, PodIndex& index, std::vector<std::string>& errors)
      : policy_(policy), index_(index), errors_(errors) {}

  std::optional<PolicyState> build() {
    const auto& spec = policy_.spec;
    bool ingress = spec.policyTypes.empty();
    bool egress = spec.policyTypes.empty() && !spec.egress.empty();
    for (const auto& type : spec.policyTypes) {
      if (type == "Ingress") {
        ingress = true;
      } else if (type == "Egress") {
        egress = true;
      } else {
        error("spec.policyTypes", "unsupported value \"" + type + "\" (Ingress, Egress)");
      }
    }
    PolicyState state;
    state.namespace_ = policy_.metadata.namespace_;
    state.name = policy_.metadata.name;
    const auto selector = selectorOf(spec.podSelector, "spec.podSelector");
    if (!selector) return std::nullopt;
    const auto& targets = index_.localIn(state.namespace_, *selector);
    if (targets.empty()) return std::nullopt;
    std::vector<std::string> ips;
    ips.reserve(targets.size());
    for (const auto* t : targets) {
      for (auto& ip : t->ips()) ips.push_back(std::move(ip));
    }
    std::sort(ips.begin(), ips.end());
    ips.erase(std::unique(ips.begin(), ips.end()), ips.end());
    if (ingress) {
      state.ingressTargets = ips;
      for (std::size_t i = 0; i < spec.ingress.size(); ++i) {
        const auto& r = spec.ingress[i];
        const std::string field = "spec.ingress[" + std::to_string(i) + "]";
        // Named ports of ingress rules are the selected pods' own ports.
        addRule(state.ingress, r.from, r.ports, field, ".from", &targets);
      }
    }
    if (egress) {
      state.egressTargets = ips;
      for (std::size_t i = 0; i < spec.egress.size(); ++i) {
        const auto& r = spec.egress[i];
        const std::string field = "spec.egress[" + std::to_string(i) + "]";
        addRule(state.egress, r.to, r.ports, field, ".to", nullptr);
      }
    }
    if (state.ingressTargets.empty() && state.egressTargets.empty()) return std::nullopt;
    return state;
  }

 private:
  void error(const std::string& field, const std::string& what) {
    errors_.push_back(policy_.metadata.namespace_ + "/" + policy_.metadata.name + ": " + field +
                      ": " + what);
  }

  std::optional<api::labels::Selector> selectorOf(const api::meta::v1::LabelSelector& s,
                                                  const std::string& field) {
    try {
      return api::labels::Selector::fromLabelSelector(s);
    } catch (const std::exception& e) {
      error(field, e.what());
      return std::nullopt;
    }
  }

  // The addresses of the pods a selector peer matches (not for ipBlock peers), merged.
  const PeerRanges& podsOf(const NetworkPolicyPeer& peer, const std::string& field) {
    static const PeerRanges kNone;
    std::optional<api::labels::Selector> pods = api::labels::Selector::everything();
    std::optional<api::labels::Selector> namespaces;
    if (peer.podSelector) pods = selectorOf(*peer.podSelector, field + ".podSelector");
    if (peer.namespaceSelector) {
      namespaces = selectorOf(*peer.namespaceSelector, field + ".namespaceSelector");
      if (!namespaces) return kNone;
    }
    if (!pods) return kNone;
    return index_.peerRanges(policy_.metadata.namespace_, *pods,
                             namespaces ? &*namespaces : nullptr);
  }

  PeerRanges rangesOf(const NetworkPolicyPeer& peer, const std::string& field) {
    const bool selectors = peer.podSelector || peer.namespaceSelector;
    if (peer.ipBlock && selectors) {
      error(field, "may not specify more than 1 peer type (ipBlock with a selector)");
      return {};
    }
    if (!peer.ipBlock && !selectors) {
      error(field, "must specify a peer");
      return {};
    }
    if (!peer.ipBlock) return podsOf(peer, field);
    PeerRanges out;
    const auto& block = *peer.ipBlock;
    if (isIPv6(block.cidr)) {
      out.v6 = blockRanges(block, field, parseCidr6);
    } else {
      out.v4 = blockRanges(block, field, parseCidr);
    }
    return out;
  }

  // An ipBlock of one family (`parse`'s): its cidr minus the excepts of that family (one of
  // the other family cuts nothing out of it).
  template <class Parse>
  auto blockRanges(const api::networking::v1::IPBlock& block, const std::string& field, Parse parse)
      -> std::vector<decltype(parse(block.cidr))> {
    std::vector<decltype(parse(block.cidr))> ranges;
    try {
      ranges.push_back(parse(block.cidr));
    } catch (const std::invalid_argument& e) {
      error(field + ".ipBlock.cidr", e.what());
      return {};
    }
    for (std::size_t i = 0; i < block.except.size(); ++i) {
      if (isIPv6(block.except[i]) != isIPv6(block.cidr)) continue;
      try {
        ranges = subtractRange(ranges, parse(block.except[i]));
      } catch (const std::invalid_argument& e) {
        // A cut that cannot be made would allow too much: allow nothing instead.
        error(field + ".ipBlock.except[" + std::to_string(i) + "]", e.what());
        return {};
      }
    }
    return ranges;
  }

  template <class A>
  static bool within(const std::vector<Range<A>>& ranges, A a) {
    const auto it =
        std::upper_bound(ranges.begin(), ranges.end(), Range<A>{a, static_cast<A>(~A{0})});
    return it != ranges.begin() && std::prev(it)->last >= a;
  }

  // `destinations`: the pods named ports resolve on; nullopt: every pod in the peers.
  void addRule(std::vector<RuleState>& out, const std::vector<NetworkPolicyPeer>& peers,
               const std::vector<NetworkPolicyPort>& ports, const std::string& field,
               const std::string& peersField, const std::vector<const PodView*>* destinations) {
    RuleState rule;
    rule.allPeers = peers.empty();
    for (std::size_t i = 0; i < peers.size(); ++i) {
      auto r = rangesOf(peers[i], field + peersField + "[" + std::to_string(i) + "]");
      if (peers.size() == 1) {
        rule.peers = std::move(r.v4);  // already merged
        rule.peers6 = std::move(r.v6);
      } else {
        rule.peers.insert(rule.peers.end(), r.v4.begin(), r.v4.end());
        rule.peers6.insert(rule.peers6.end(), r.v6.begin(), r.v6.end());
      }
    }
    if (peers.size() > 1) {
      rule.peers = mergeRanges(std::move(rule.peers));
      rule.peers6 = mergeRanges(std::move(rule.peers6));
    }
    if (!rule.allPeers && rule.peers.empty() && rule.peers6.empty()) return;
    rule.allPorts = ports.empty();
    std::set<PortRange> numeric;
    std::set<PodPort> named;
    for (std::size_t i = 0; i < ports.size(); ++i) {
      const std::string portField = field + ".ports[" + std::to_string(i) + "]";
      try {
        addPort(ports[i], destinations, rule, numeric, named);
      } catch (const std::invalid_argument& e) {
        error(portField, e.what());
      }
    }
    rule.ports.assign(numeric.begin(), numeric.end());
    rule.podPorts.assign(named.begin(), named.end());
    if (!rule.allPorts && rule.ports.empty() && rule.podPorts.empty()) return;
    out.push_back(std::move(rule));
  }

  void addPort(const NetworkPolicyPort& port, const std::vector<const PodView*>* destinations,
               const RuleState& rule, std::set<PortRange>& numeric, std::set<PodPort>& named) {
    const std::string protocol = protocolOf(port.protocol.value_or(""));
    if (!port.port) {
      if (port.endPort) throw std::invalid_argument("endPort: may not be set without port");
      numeric.insert({protocol, 0, 65535});
      return;
    }
    if (port.port->isInt()) {
      const int32_t first = port.port->intValue();
      const int32_t last = port.endPort.value_or(first);
      if (first < 1 || first > 65535) throw std::invalid_argument("port: must be 1-65535");
      if (last < first || last > 65535) {
        throw std::invalid_argument(
            "endPort: must be greater than or equal to port, at most 65535");
      }
      numeric.insert({protocol, first, last});
      return;
    }
    if (port.endPort) throw std::invalid_argument("endPort: may not be set with a named port");
    const std::string& name = port.port->strValue();
    // An entry per address of the pod that is in scope (both for a destination pod).
    auto resolveOn = [&](const PodView& pod, bool v4, bool v6) {
      for (const auto* list : {&pod.pod->spec.containers, &pod.pod->spec.initContainers}) {
        for (const auto& c : *list) {
          for (const auto& p : c.ports) {
            if (p.name != name || protocolOf(p.protocol) != protocol) continue;
            if (v4 && !pod.ip.empty()) named.insert({pod.ip, protocol, p.containerPort});
            if (v6 && !pod.ip6.empty()) named.insert({pod.ip6, protocol, p.containerPort});
          }
        }
      }
    };
    if (destinations != nullptr) {
      for (const auto* pod : *destinations) resolveOn(*pod, true, true);
      return;
    }
    // Egress: the peer pod's addresses that are among the rule's peers.
    for (const auto& pod : index_.all()) {
      const bool v4 = !pod.ip.empty() && (rule.allPeers || within(rule.peers, pod.address));
      const bool v6 = !pod.ip6.empty() && (rule.allPeers || within(rule.peers6, pod.address6));
      if (v4 || v6) resolveOn(pod, v4, v6);
    }
  }

  const NetworkPolicy& policy_;
  PodIndex& index_;
  std::vector<std::string>& errors_;
};

}  // namespace

namespace {

std::map<std::string, api::labels::Set> namespaceLabelsOf(
    const std::vector<const Namespace*>& namespaces) {
  std::map<std::string, api::labels::Set> out;
  for (const auto* ns : namespaces) {
    auto& labels = out[ns->metadata.name];
    labels = ns->metadata.labels;
    // The API server sets it on every namespace; older objects may lack it.
    labels.emplace(kNamespaceNameLabel, ns->metadata.name);
  }
  return out;
}

// The pod as policies see it, or nothing when no policy applies to it or admits it.
std::optional<PodView> viewOf(const Pod& pod, const std::string& nodeName) {
  if (pod.spec.hostNetwork) return std::nullopt;
  if (pod.status.phase == "Succeeded" || pod.status.phase == "Failed") return std::nullopt;
  PodView view{.pod = &pod,
               .ip = {},
               .ip6 = {},
               .local = !nodeName.empty() && pod.spec.nodeName == nodeName};
  addressesOf(pod, view);
  if (view.ip.empty() && view.ip6.empty()) return std::nullopt;
  return view;
}

std::vector<PodView> viewsOf(const std::vector<const Pod*>& pods, const std::string& nodeName,
                             std::map<std::string, api::labels::Set>& namespaceLabels) {
  std::vector<PodView> views;
  views.reserve(pods.size());
  for (const auto* pod : pods) {
    auto view = viewOf(*pod, nodeName);
    if (!view) continue;
    namespaceLabels.try_emplace(pod->metadata.namespace_,
                                api::labels::Set{{kNamespaceNameLabel, pod->metadata.namespace_}});
    views.push_back(std::move(*view));
  }
  return views;
}

template <class T>
std::vector<const T*> pointers(const std::vector<T>& objects) {
  std::vector<const T*> out;
  out.reserve(objects.size());
  for (const auto& o : objects) out.push_back(&o);
  return out;
}

template <class T>
std::vector<const T*> pointers(const std::vector<std::shared_ptr<const T>>& objects) {
  std::vector<const T*> out;
  out.reserve(objects.size());
  for (const auto& o : objects) out.push_back(o.get());
  return out;
}

// What a policy's result depends on among the pods: a pod that none of these match (before
// and after a change) cannot change the policy's state.
struct PodMatcher {
  static PodMatcher any() {
    PodMatcher m;
    m.always = true;
    return m;
  }
  bool always = false;         // depends on every pod (or the policy is invalid: recompute it)
  std::string namespace_;      // when !namespaces
  api::labels::Selector pods;  // everything when the peer has none
  std::optional<api::labels::Selector> namespaces;
};

std::vector<PodMatcher> matchersOf(const NetworkPolicy& policy) {
  std::vector<PodMatcher> out;
  const auto& ns = policy.metadata.namespace_;
  try {
    PodMatcher targets;
    targets.namespace_ = ns;
    targets.pods = api::labels::Selector::fromLabelSelector(policy.spec.podSelector);
    out.push_back(std::move(targets));
    auto addPeers = [&](const std::vector<NetworkPolicyPeer>& peers,
                        const std::vector<NetworkPolicyPort>& ports, bool egress) {
      bool named = false;
      for (const auto& p : ports) named = named || (p.port && !p.port->isInt());
      // Egress named ports resolve on every pod inside the peers' addresses: with no peers
      // or an ipBlock, that is any pod.
      if (egress && named && peers.empty()) out.push_back(PodMatcher::any());
      for (const auto& peer : peers) {
        if (peer.ipBlock) {
          if (egress && named) out.push_back(PodMatcher::any());
          continue;
        }
        PodMatcher m;
        m.namespace_ = ns;
        if (peer.podSelector) m.pods = api::labels::Selector::fromLabelSelector(*peer.podSelector);
        if (peer.namespaceSelector) {
          m.namespaces = api::labels::Selector::fromLabelSelector(*peer.namespaceSelector);
        }
        out.push_back(std::move(m));
      }
    };
    for (const auto& r : policy.spec.ingress) addPeers(r.from, r.ports, false);
    for (const auto& r : policy.spec.egress) addPeers(r.to, r.ports, true);
  } catch (const std::exception&) {
    return {PodMatcher::any()};
  }
  return out;
}

bool matches(const PodMatcher& m, const PodView& pod,
             const std::map<std::string, api::labels::Set>& namespaceLabels) {
  const auto& ns = pod.pod->metadata.namespace_;
  if (m.namespaces) {
    // A gone pod's namespace may have no other pod now: its labels were the name label.
    const auto it = namespaceLabels.find(ns);
    if (it == namespaceLabels.end()) {
      if (!m.namespaces->matches(api::labels::Set{{kNamespaceNameLabel, ns}})) return false;
    } else if (!m.namespaces->matches(it->second)) {
      return false;
    }
  } else if (ns != m.namespace_) {
    return false;
  }
  return m.pods.matches(pod.pod->metadata.labels);
}

// What a pod in a selection gives a policy: its address, whether it is local, its ports.
bool sameContribution(const PodView& a, const PodView& b) {
  return a.ip == b.ip && a.ip6 == b.ip6 && a.local == b.local &&
         a.pod->spec.containers == b.pod->spec.containers &&
         a.pod->spec.initContainers == b.pod->spec.initContainers;
}

// A pod's versions before and after a change (either absent: new, gone, or not a pod that
// policies see).
struct PodChange {
  std::optional<PodView> before;
  std::optional<PodView> after;
};

// Whether the change can alter the state of the policy these matchers describe: the pod
// joins or leaves one of its selections, or stays in one with another address, node or ports.
bool concerns(const std::vector<PodMatcher>& matchers, const PodChange& change,
              const std::map<std::string, api::labels::Set>& namespaceLabels) {
  for (const auto& m : matchers) {
    if (m.always) return true;
    const bool before = change.before && matches(m, *change.before, namespaceLabels);
    const bool after = change.after && matches(m, *change.after, namespaceLabels);
    if (before != after) return true;
    if (before && !sameContribution(*change.before, *change.after)) return true;
  }
  return false;
}

State compute(const std::vector<const NetworkPolicy*>& policies,
              const std::vector<const Pod*>& pods, const std::vector<const Namespace*>& namespaces,
              const std::string& nodeName) {
  auto namespaceLabels = namespaceLabelsOf(namespaces);
  const auto views = viewsOf(pods, nodeName, namespaceLabels);
  PodIndex index(views, std::move(namespaceLabels));
  State state;
  for (const auto* policy : policies) {
    auto built = PolicyBuilder(*policy, index, state.errors).build();
    if (built) state.policies.emplace(built->key(), std::move(*built));
  }
  return state;
}

std::string keyOf(const api::meta::v1::ObjectMeta& meta) {
  return meta.namespace_ + "/" + meta.name;
}

}  // namespace

State computeState(const std::vector<NetworkPolicy>& policies, const std::vector<Pod>& pods,
                   const std::vector<Namespace>& namespaces, const std::string& nodeName) {
  return compute(pointers(policies), pointers(pods), pointers(namespaces), nodeName);
}

class IncrementalState::Impl {
 public:
  explicit Impl(std::string nodeName) : nodeName_(std::move(nodeName)) {}

  const State& update(const std::vector<std::shared_ptr<const NetworkPolicy>>& policies,
                      const std::vector<std::shared_ptr<const Pod>>& pods,
                      const std::vector<std::shared_ptr<const Namespace>>& namespaces) {
    // Everything again at the start and when a namespace changed (its labels reach any
    // policy).
    std::map<std::string, std::shared_ptr<const Namespace>> nextNamespaces;
    for (const auto& n : namespaces) nextNamespaces.emplace(n->metadata.name, n);
    bool all = !started_ || nextNamespaces != namespaces_;
    std::unordered_map<std::string, std::shared_ptr<const Pod>> nextPods;
    nextPods.reserve(pods.size());
    for (const auto& p : pods) nextPods.emplace(keyOf(p->metadata), p);
    // The pods that changed, before and after (gone and new pods included).
    std::vector<PodChange> changes;
    auto viewIf = [&](const Pod* pod) {
      return pod == nullptr ? std::nullopt : viewOf(*pod, nodeName_);
    };
    for (const auto& [key, pod] : nextPods) {
      const auto it = pods_.find(key);
      if (it != pods_.end() && it->second == pod) continue;
      changes.push_back(
          {viewIf(it == pods_.end() ? nullptr : it->second.get()), viewIf(pod.get())});
    }
    for (const auto& [key, pod] : pods_) {
      if (!nextPods.contains(key)) changes.push_back({viewIf(pod.get()), std::nullopt});
    }
    if (changes.size() > 32) all = true;  // checking would cost about what computing does

    auto namespaceLabels = namespaceLabelsOf(pointers(namespaces));
    const auto views = viewsOf(pointers(pods), nodeName_, namespaceLabels);
    const auto labels = namespaceLabels;  // for the checks (the index takes its own)
    PodIndex index(views, std::move(namespaceLabels));

    std::map<std::string, Entry> entries;
    recomputed_ = 0;
    for (const auto& policy : policies) {
      const auto key = keyOf(policy->metadata);
      auto old = entries_.find(key);
      bool again = all || old == entries_.end() || old->second.policy != policy;
      for (std::size_t i = 0; !again && i < changes.size(); ++i) {
        again = concerns(old->second.matchers, changes[i], labels);
      }
      if (!again) {
        entries.emplace(key, std::move(old->second));
        continue;
      }
      ++recomputed_;
      Entry entry{policy, matchersOf(*policy), {}};
      state_.policies.erase(key);
      auto built = PolicyBuilder(*policy, index, entry.errors).build();
      if (built) state_.policies.emplace(key, std::move(*built));
      entries.emplace(key, std::move(entry));
    }
    for (const auto& [key, entry] : entries_) {
      if (!entries.contains(key)) state_.policies.erase(key);
    }
    entries_ = std::move(entries);
    state_.errors.clear();
    for (const auto& policy : policies) {
      const auto& errors = entries_.at(keyOf(policy->metadata)).errors;
      state_.errors.insert(state_.errors.end(), errors.begin(), errors.end());
    }
    pods_ = std::move(nextPods);
    namespaces_ = std::move(nextNamespaces);
    started_ = true;
    return state_;
  }

  std::size_t recomputed() const { return recomputed_; }

 private:
  struct Entry {
    std::shared_ptr<const NetworkPolicy> policy;
    std::vector<PodMatcher> matchers;
    std::vector<std::string> errors;
  };

  std::string nodeName_;
  bool started_ = false;
  // The objects of the last update, kept alive: pods are compared by pointer, and the old
  // versions of changed ones looked at to find the policies the change concerns.
  std::unordered_map<std::string, std::shared_ptr<const Pod>> pods_;
  std::map<std::string, std::shared_ptr<const Namespace>> namespaces_;
  std::map<std::string, Entry> entries_;  // by "namespace/name"
  State state_;
  std::size_t recomputed_ = 0;
};

IncrementalState::IncrementalState(std::string nodeName)
    : impl_(std::make_unique<Impl>(std::move(nodeName))) {}
IncrementalState::~IncrementalState() = default;

const State& IncrementalState::update(
    const std::vector<std::shared_ptr<const NetworkPolicy>>& policies,
    const std::vector<std::shared_ptr<const Pod>>& pods,
    const std::vector<std::shared_ptr<const Namespace>>& namespaces) {
  return impl_->update(policies, pods, namespaces);
}

std::size_t IncrementalState::recomputed() const { return impl_->recomputed(); }

}  // namespace kite::proxy::netpol
