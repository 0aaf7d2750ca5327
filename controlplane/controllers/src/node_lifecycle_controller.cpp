// node-lifecycle (with the taint eviction manager): a node whose Lease (kube-node-lease/<node>)
// and Ready heartbeat have not changed for nodeMonitorGracePeriod gets its conditions set to
// Unknown ("NodeStatusUnknown", "Kubelet stopped posting node status."); the Ready condition
// becomes taints: Unknown -> node.kubernetes.io/unreachable, False ->
// node.kubernetes.io/not-ready (NoSchedule and NoExecute each), removed once Ready is True;
// pressure conditions, NetworkUnavailable and spec.unschedulable become NoSchedule taints
// (TaintNodesByCondition).
// Pods on a node with NoExecute taints they do not tolerate are deleted, after their
// tolerationSeconds when they have them.
//
// Keys: "node/<name>", "pod/<ns>/<name>" and "tick" (every nodeMonitorPeriod: every node).

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <utility>

#include "cluster_controller_base.h"
#include "cluster_controllers.h"
#include "cluster_events.h"
#include "cluster_taints.h"
#include "kite/api/coordination/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/meta.h"

namespace kite::controlplane::controllers {

namespace {

namespace corev1 = api::core::v1;
namespace coordinationv1 = api::coordination::v1;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kUnreachable = "node.kubernetes.io/unreachable";
constexpr const char* kNotReady = "node.kubernetes.io/not-ready";
constexpr const char* kUnschedulable = "node.kubernetes.io/unschedulable";
constexpr std::pair<const char*, const char*> kConditionTaints[] = {
    {"MemoryPressure", "node.kubernetes.io/memory-pressure"},
    {"DiskPressure", "node.kubernetes.io/disk-pressure"},
    {"PIDPressure", "node.kubernetes.io/pid-pressure"},
    {"NetworkUnavailable", "node.kubernetes.io/network-unavailable"},
};
constexpr const char* kTick = "tick";
constexpr std::string_view kNodePrefix = "node/";
constexpr std::string_view kPodPrefix = "pod/";

// What the controller last saw of a node's heartbeats, and when it saw them change.
struct NodeHealth {
  std::string leaseRenewTime;
  std::string readyHeartbeat;
  SteadyClock::time_point probeTime;
};

class NodeLifecycleController final : public ClusterControllerBase {
 public:
  NodeLifecycleController(client::Client& client,
                          const std::shared_ptr<client::SharedInformers>& informers,
                          const ClusterControllerOptions& options)
      : ClusterControllerBase("node-lifecycle", options.syncTimeout, informers),
        client_(client),
        gracePeriod_(options.nodeMonitorGracePeriod),
        monitorPeriod_(options.nodeMonitorPeriod),
        nodes_(informers->get<corev1::Node>()),
        leases_(client, "kube-node-lease"),
        pods_(informers->get<corev1::Pod>()) {
    auto onNode = [this](const corev1::Node& n) { queue().add(nodeKey(n.metadata.name)); };
    nodes_.addEventHandler({
        .onAdd = onNode,
        .onUpdate = [onNode](const corev1::Node&, const corev1::Node& n) { onNode(n); },
        .onDelete = onNode,
    });
    leases_.addEventHandler({
        .onUpdate = [this](
                        const coordinationv1::Lease&,
                        const coordinationv1::Lease& l) { queue().add(nodeKey(l.metadata.name)); },
    });
    auto onPod = [this](const corev1::Pod& p) {
      if (!p.spec.nodeName.empty())
        queue().add(std::string(kPodPrefix) + api::fullName(p.metadata));
    };
    pods_.addEventHandler({
        .onAdd = onPod,
        .onUpdate = [onPod](const corev1::Pod&, const corev1::Pod& p) { onPod(p); },
    });
    pods_.addIndexer("node", [](const corev1::Pod& p) {
      return p.spec.nodeName.empty() ? std::vector<std::string>{}
                                     : std::vector<std::string>{p.spec.nodeName};
    });
    watch(nodes_);
    watch(leases_);
    watch(pods_);
  }
  ~NodeLifecycleController() override { stop(); }
  NodeLifecycleController(const NodeLifecycleController&) = delete;
  NodeLifecycleController& operator=(const NodeLifecycleController&) = delete;

 protected:
  void onSynced() override { queue().add(kTick); }

  void sync(const std::string& key) override {
    if (key == kTick) {
      for (const auto& n : nodes_.cache().list()) queue().add(nodeKey(n->metadata.name));
      queue().addAfter(kTick, monitorPeriod_);
    } else if (key.starts_with(kNodePrefix)) {
      syncNode(key.substr(kNodePrefix.size()));
    } else if (key.starts_with(kPodPrefix)) {
      syncPod(key.substr(kPodPrefix.size()));
    }
  }

 private:
  static std::string nodeKey(const std::string& name) { return std::string(kNodePrefix) + name; }

  // Whether the node's heartbeats have been silent longer than the grace period.
  bool silent(const corev1::Node& node) {
    const auto now = SteadyClock::now();
    std::string renew;
    if (const auto lease = leases_.cache().get("kube-node-lease", node.metadata.name)) {
      if (lease->spec.renewTime) renew = lease->spec.renewTime->rfc3339Micro();
    }
    std::string heartbeat;
    if (const auto* ready = api::findCondition(node.status.conditions, "Ready")) {
      heartbeat = ready->lastHeartbeatTime.rfc3339();
    }
    auto [it, inserted] =
        health_.try_emplace(node.metadata.name, NodeHealth{renew, heartbeat, now});
    auto& h = it->second;
    if (!inserted && (h.leaseRenewTime != renew || h.readyHeartbeat != heartbeat)) {
      h = NodeHealth{renew, heartbeat, now};
    }
    return now - h.probeTime > gracePeriod_;
  }

  void syncNode(const std::string& name) {
    const auto cached = nodes_.cache().get("", name);
    if (!cached) {
      health_.erase(name);
      return;
    }
    // Marked Unknown now: the node's update event brings it back for the taints.
    if (silent(*cached) && markUnknown(name)) return;
    syncTaints(*cached);
    // Pods on the node re-check their NoExecute taints.
    const bool noExecute =
        std::any_of(cached->spec.taints.begin(), cached->spec.taints.end(),
                    [](const corev1::Taint& t) { return t.effect == "NoExecute"; });
    if (!noExecute) return;
    for (const auto& p : pods_.cache().byIndex("node", name)) {
      queue().add(std::string(kPodPrefix) + api::fullName(p->metadata));
    }
  }

  // Sets the conditions to Unknown; whether anything changed.
  bool markUnknown(const std::string& name) {
    auto node = client_.get<corev1::Node>("", name);
    const auto now = api::Time::now();
    bool changed = false;
    if (!api::findCondition(node.status.conditions, "Ready")) {
      corev1::NodeCondition ready;
      ready.type = "Ready";
      ready.status = "Unknown";
      ready.reason = "NodeStatusNeverUpdated";
      ready.message = "Kubelet never posted node status.";
      ready.lastHeartbeatTime = node.metadata.creationTimestamp;
      ready.lastTransitionTime = now;
      node.status.conditions.push_back(ready);
      changed = true;
    }
    for (auto& c : node.status.conditions) {
      if (c.status == "Unknown") continue;
      c.status = "Unknown";
      c.reason = "NodeStatusUnknown";
      c.message = "Kubelet stopped posting node status.";
      c.lastTransitionTime = now;
      changed = true;
    }
    if (!changed) return false;
    client_.updateStatus(node);
    clusterRecordEvent(client_, "node-controller", clusterReferenceTo(node), "Normal",
                       "NodeNotReady", "Node " + name + " status is now: NodeNotReady");
    spdlog::info("node-lifecycle controller: node {} stopped posting status, now Unknown", name);
    return true;
  }

  // The taints this controller owns and which of them the node should have: from Ready (both
  // effects), and, as upstream's TaintNodesByCondition, NoSchedule ones for pressure
  // conditions, an unavailable network and spec.unschedulable.
  static std::vector<std::pair<std::string, std::string>> wantedTaints(const corev1::Node& node) {
    std::vector<std::pair<std::string, std::string>> want;
    const auto status = [&](std::string_view type) {
      const auto* c = api::findCondition(node.status.conditions, type);
      return c == nullptr ? std::string() : c->status;
    };
    const std::string ready = status("Ready");
    for (const char* effect : {"NoSchedule", "NoExecute"}) {
      if (ready == "Unknown") want.emplace_back(kUnreachable, effect);
      if (ready == "False") want.emplace_back(kNotReady, effect);
    }
    for (const auto& [type, key] : kConditionTaints) {
      if (status(type) == "True") want.emplace_back(key, "NoSchedule");
    }
    if (node.spec.unschedulable) want.emplace_back(kUnschedulable, "NoSchedule");
    return want;
  }

  static bool managed(const std::string& key) {
    if (key == kUnreachable || key == kNotReady || key == kUnschedulable) return true;
    return std::any_of(std::begin(kConditionTaints), std::end(kConditionTaints),
                       [&](const auto& ct) { return key == ct.second; });
  }

  void syncTaints(corev1::Node node) {
    auto want = wantedTaints(node);
    std::vector<corev1::Taint> taints;
    bool changed = false;
    for (const auto& t : node.spec.taints) {
      const auto it = std::find(want.begin(), want.end(), std::pair{t.key, t.effect});
      if (managed(t.key) && it == want.end()) {
        changed = true;
        continue;
      }
      if (it != want.end()) want.erase(it);  // there already
      taints.push_back(t);
    }
    for (const auto& [key, effect] : want) {
      corev1::Taint t;
      t.key = key;
      t.effect = effect;
      if (effect == "NoExecute") t.timeAdded = api::Time::now();
      taints.push_back(t);
      changed = true;
    }
    if (!changed) return;
    node.spec.taints = std::move(taints);
    client_.update(node);
    std::string summary;
    for (const auto& t : node.spec.taints) summary += " " + t.key + ":" + t.effect;
    spdlog::info("node-lifecycle controller: node {} taints now:{}", node.metadata.name,
                 summary.empty() ? std::string(" none") : summary);
  }

  void syncPod(const std::string& key) {
    const auto slash = key.find('/');
    const auto pod = pods_.cache().get(key.substr(0, slash), key.substr(slash + 1));
    if (!pod || pod->spec.nodeName.empty() || api::isBeingDeleted(pod->metadata)) return;
    const auto node = nodes_.cache().get("", pod->spec.nodeName);
    if (!node) return;
    std::vector<corev1::Taint> noExecute;
    api::Time since;
    for (const auto& t : node->spec.taints) {
      if (t.effect != "NoExecute") continue;
      noExecute.push_back(t);
      if (t.timeAdded && (since.isZero() || *t.timeAdded < since)) since = *t.timeAdded;
    }
    if (noExecute.empty()) return;
    const auto wait = clusterTimeToEviction(pod->spec.tolerations, noExecute);
    if (!wait) return;
    if (since.isZero()) since = api::Time::now();
    const auto due = since.timePoint() + *wait;
    const auto now = std::chrono::system_clock::now();
    if (*wait > std::chrono::seconds(0) && due > now) {
      queue().addAfter(std::string(kPodPrefix) + key, due - now);
      return;
    }
    evict(*pod);
  }

  void evict(const corev1::Pod& pod) {
    // As upstream's taint manager: a DisruptionTarget condition saying why, then the delete.
    try {
      auto current = client_.get<corev1::Pod>(pod.metadata.namespace_, pod.metadata.name);
      if (!api::findCondition(current.status.conditions, "DisruptionTarget")) {
        corev1::PodCondition c;
        c.type = "DisruptionTarget";
        c.status = "True";
        c.reason = "DeletionByTaintManager";
        c.message = "Taint manager: deleting due to NoExecute taint";
        c.lastTransitionTime = api::Time::now();
        current.status.conditions.push_back(c);
        client_.updateStatus(current);
      }
      clusterRecordEvent(client_, "taint-eviction-controller", clusterReferenceTo(pod), "Normal",
                         "TaintManagerEviction",
                         "Marking for deletion Pod " + api::fullName(pod.metadata));
      client_.remove<corev1::Pod>(pod.metadata.namespace_, pod.metadata.name);
      spdlog::info("node-lifecycle controller: evicted {}/{} from tainted node {}",
                   pod.metadata.namespace_, pod.metadata.name, pod.spec.nodeName);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
    }
  }

  client::Client& client_;
  std::chrono::milliseconds gracePeriod_;
  std::chrono::milliseconds monitorPeriod_;
  client::Informer<corev1::Node>& nodes_;
  client::Informer<coordinationv1::Lease> leases_;
  client::Informer<corev1::Pod>& pods_;
  std::map<std::string, NodeHealth> health_;  // the worker thread's only
};

}  // namespace

std::unique_ptr<Controller> newNodeLifecycleController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options) {
  return std::make_unique<NodeLifecycleController>(client, informers, options);
}

}  // namespace kite::controlplane::controllers
