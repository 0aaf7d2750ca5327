#include "node_graph.h"

#include <spdlog/spdlog.h>

#include "kite/api/core/v1/types.h"
#include "kite/api/json.h"

namespace kite::controlplane {

namespace {

namespace corev1 = api::core::v1;

constexpr std::string_view kPods = "/registry/core/pods/";
constexpr std::string_view kClaims = "/registry/core/persistentvolumeclaims/";

template <class C>
void addContainerRefs(const C& c, std::set<std::string, std::less<>>& secrets,
                      std::set<std::string, std::less<>>& configMaps) {
  for (const auto& e : c.env) {
    if (!e.valueFrom) continue;
    if (e.valueFrom->secretKeyRef) secrets.insert(e.valueFrom->secretKeyRef->name);
    if (e.valueFrom->configMapKeyRef) configMaps.insert(e.valueFrom->configMapKeyRef->name);
  }
  for (const auto& e : c.envFrom) {
    if (e.secretRef) secrets.insert(e.secretRef->name);
    if (e.configMapRef) configMaps.insert(e.configMapRef->name);
  }
}

}  // namespace

NodeGraph::NodeGraph(Store& store) {
  podInformer_ = std::make_unique<auth::StoreInformer>(
      store, std::string(kPods),
      auth::StoreInformer::Handlers{[this](const auto& items) { replacePods(items); },
                                    [this](const auto& events) { applyPods(events); }});
  claimInformer_ = std::make_unique<auth::StoreInformer>(
      store, std::string(kClaims),
      auth::StoreInformer::Handlers{[this](const auto& items) { replaceClaims(items); },
                                    [this](const auto& events) { applyClaims(events); }});
}

void NodeGraph::replacePods(const std::vector<KeyValue>& items) {
  std::unique_lock lock(mutex_);
  pods_.clear();
  podsByNode_.clear();
  for (const auto& kv : items) putPod(kv);
}

void NodeGraph::applyPods(const std::vector<WatchEvent>& events) {
  std::unique_lock lock(mutex_);
  for (const auto& e : events) {
    if (e.type == WatchEventType::kPut) {
      putPod(e.kv);
    } else {
      removePod(e.kv.key);
    }
  }
}

void NodeGraph::putPod(const KeyValue& kv) {
  removePod(kv.key);
  corev1::Pod pod;
  try {
    pod = api::decodeJson<corev1::Pod>(kv.value);
  } catch (const std::exception& e) {
    spdlog::error("node graph: cannot decode {}: {}", kv.key, e.what());
    return;
  }
  if (pod.spec.nodeName.empty()) return;  // reaches nothing until scheduled
  PodRefs refs;
  refs.node = pod.spec.nodeName;
  refs.ns = pod.metadata.namespace_;
  refs.serviceAccount = pod.spec.serviceAccountName;
  for (const auto& s : pod.spec.imagePullSecrets) refs.secrets.insert(s.name);
  for (const auto& c : pod.spec.initContainers) addContainerRefs(c, refs.secrets, refs.configMaps);
  for (const auto& c : pod.spec.containers) addContainerRefs(c, refs.secrets, refs.configMaps);
  for (const auto& c : pod.spec.ephemeralContainers) {
    addContainerRefs(c, refs.secrets, refs.configMaps);
  }
  for (const auto& v : pod.spec.volumes) {
    if (v.secret) refs.secrets.insert(v.secret->secretName);
    if (v.configMap) refs.configMaps.insert(v.configMap->name);
    if (v.persistentVolumeClaim) refs.claims.insert(v.persistentVolumeClaim->claimName);
    if (v.ephemeral) {
      // The claim of a generic ephemeral volume is named <pod>-<volume>.
      std::string claim = pod.metadata.name;
      claim.append("-").append(v.name);
      refs.claims.insert(std::move(claim));
    }
    if (v.projected) {
      for (const auto& src : v.projected->sources) {
        if (src.secret) refs.secrets.insert(src.secret->name);
        if (src.configMap) refs.configMaps.insert(src.configMap->name);
      }
    }
  }
  podsByNode_[refs.node].insert(kv.key);
  pods_.emplace(kv.key, std::move(refs));
}

void NodeGraph::removePod(std::string_view key) {
  const auto it = pods_.find(key);
  if (it == pods_.end()) return;
  if (auto n = podsByNode_.find(it->second.node); n != podsByNode_.end()) {
    n->second.erase(std::string(key));
    if (n->second.empty()) podsByNode_.erase(n);
  }
  pods_.erase(it);
}

void NodeGraph::replaceClaims(const std::vector<KeyValue>& items) {
  std::unique_lock lock(mutex_);
  claimVolumes_.clear();
  for (const auto& kv : items) putClaim(kv);
}

void NodeGraph::applyClaims(const std::vector<WatchEvent>& events) {
  std::unique_lock lock(mutex_);
  for (const auto& e : events) {
    if (e.type == WatchEventType::kPut) {
      putClaim(e.kv);
    } else {
      claimVolumes_.erase(e.kv.key.substr(kClaims.size()));
    }
  }
}

void NodeGraph::putClaim(const KeyValue& kv) {
  const std::string nsName = kv.key.substr(kClaims.size());
  try {
    auto claim = api::decodeJson<corev1::PersistentVolumeClaim>(kv.value);
    if (claim.spec.volumeName.empty()) {
      claimVolumes_.erase(nsName);
    } else {
      claimVolumes_[nsName] = claim.spec.volumeName;
    }
  } catch (const std::exception& e) {
    spdlog::error("node graph: cannot decode {}: {}", kv.key, e.what());
    claimVolumes_.erase(nsName);
  }
}

bool NodeGraph::podOnNode(std::string_view node, std::string_view ns, std::string_view name) const {
  std::string key(kPods);
  key.append(ns).append("/").append(name);
  std::shared_lock lock(mutex_);
  const auto it = pods_.find(key);
  return it != pods_.end() && it->second.node == node;
}

bool NodeGraph::references(std::string_view node, std::string_view resource, std::string_view ns,
                           std::string_view name) const {
  std::shared_lock lock(mutex_);
  const auto podKeys = podsByNode_.find(node);
  if (podKeys == podsByNode_.end()) return false;
  for (const auto& key : podKeys->second) {
    const PodRefs& p = pods_.find(key)->second;
    if (resource == "persistentvolumes") {
      for (const auto& claim : p.claims) {
        std::string claimKey = p.ns;
        claimKey.append("/").append(claim);
        const auto v = claimVolumes_.find(claimKey);
        if (v != claimVolumes_.end() && v->second == name) return true;
      }
      continue;
    }
    if (p.ns != ns) continue;
    if (resource == "secrets" && p.secrets.count(name) != 0) return true;
    if (resource == "configmaps" && p.configMaps.count(name) != 0) return true;
    if (resource == "persistentvolumeclaims" && p.claims.count(name) != 0) return true;
    if (resource == "serviceaccounts" && p.serviceAccount == name) return true;
  }
  return false;
}

}  // namespace kite::controlplane
