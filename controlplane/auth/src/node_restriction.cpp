// NodeRestriction admission (upstream's plugin, simplified): the checks that need the object.
#include <algorithm>

#include "kite/api/core/v1/types.h"
#include "kite/api/json.h"
#include "kite/controlplane/node_authorizer.h"

namespace kite::controlplane {

namespace {

namespace corev1 = api::core::v1;

constexpr const char* kMirrorAnnotation = "kubernetes.io/config.mirror";
constexpr std::string_view kRestrictedLabelPrefix = "node-restriction.kubernetes.io/";

std::string quoted(std::string_view s) {
  std::string out = "\"";
  out.append(s).append("\"");
  return out;
}

// `node "n1" <rest>`
std::string nodeSays(std::string_view node, std::string_view rest) {
  std::string out = "node ";
  out.append(quoted(node)).append(" ").append(rest);
  return out;
}

bool referencesSecrets(const corev1::Pod& pod) {
  if (!pod.spec.imagePullSecrets.empty()) return true;
  auto containers = [](const auto& list) {
    return std::any_of(list.begin(), list.end(), [](const auto& c) {
      return std::any_of(c.env.begin(), c.env.end(),
                         [](const auto& e) { return e.valueFrom && e.valueFrom->secretKeyRef; }) ||
             std::any_of(c.envFrom.begin(), c.envFrom.end(),
                         [](const auto& e) { return e.secretRef.has_value(); });
    });
  };
  if (containers(pod.spec.containers) || containers(pod.spec.initContainers) ||
      containers(pod.spec.ephemeralContainers)) {
    return true;
  }
  return std::any_of(pod.spec.volumes.begin(), pod.spec.volumes.end(), [](const auto& v) {
    if (v.secret) return true;
    if (!v.projected) return false;
    const auto& s = v.projected->sources;
    return std::any_of(s.begin(), s.end(), [](const auto& p) { return p.secret.has_value(); });
  });
}

bool referencesConfigMaps(const corev1::Pod& pod) {
  auto containers = [](const auto& list) {
    return std::any_of(list.begin(), list.end(), [](const auto& c) {
      return std::any_of(
                 c.env.begin(), c.env.end(),
                 [](const auto& e) { return e.valueFrom && e.valueFrom->configMapKeyRef; }) ||
             std::any_of(c.envFrom.begin(), c.envFrom.end(),
                         [](const auto& e) { return e.configMapRef.has_value(); });
    });
  };
  if (containers(pod.spec.containers) || containers(pod.spec.initContainers) ||
      containers(pod.spec.ephemeralContainers)) {
    return true;
  }
  return std::any_of(pod.spec.volumes.begin(), pod.spec.volumes.end(), [](const auto& v) {
    if (v.configMap) return true;
    if (!v.projected) return false;
    const auto& s = v.projected->sources;
    return std::any_of(s.begin(), s.end(), [](const auto& p) { return p.configMap.has_value(); });
  });
}

bool referencesClaims(const corev1::Pod& pod) {
  return std::any_of(pod.spec.volumes.begin(), pod.spec.volumes.end(), [](const auto& v) {
    return v.persistentVolumeClaim.has_value() || v.ephemeral.has_value();
  });
}

std::string checkMirrorPod(std::string_view node, const corev1::Pod& pod) {
  if (pod.metadata.annotations.count(kMirrorAnnotation) == 0) {
    std::string out = "pod does not have ";
    out.append(quoted(kMirrorAnnotation)).append(" annotation, ");
    return out.append(nodeSays(node, "can only create mirror pods"));
  }
  if (pod.spec.nodeName != node) {
    return nodeSays(node, "can only create pods with spec.nodeName set to itself");
  }
  for (const auto& ref : pod.metadata.ownerReferences) {
    if (ref.kind != "Node" || ref.name != node || ref.apiVersion != "v1") {
      return nodeSays(node, "can only create pods with an owner reference set to itself");
    }
  }
  if (!pod.spec.serviceAccountName.empty()) {
    return nodeSays(node, "can not create pods that reference serviceaccounts");
  }
  if (referencesSecrets(pod)) return nodeSays(node, "can not create pods that reference secrets");
  if (referencesConfigMaps(pod)) {
    return nodeSays(node, "can not create pods that reference configmaps");
  }
  if (referencesClaims(pod)) {
    return nodeSays(node, "can not create pods that reference persistentvolumeclaims");
  }
  return {};
}

std::string checkPod(std::string_view node, const Attributes& a, std::string_view object,
                     std::string_view oldObject) {
  const auto& sub = a.subresource;
  if (a.verb == "create" && sub.empty()) {
    return checkMirrorPod(node, api::decodeJson<corev1::Pod>(object));
  }
  if (oldObject.empty()) return {};
  const auto old = api::decodeJson<corev1::Pod>(oldObject);
  const bool mine = old.spec.nodeName == node;
  if (sub.empty() && a.verb == "delete" && !mine) {
    return nodeSays(node, "can only delete pods with spec.nodeName set to itself");
  }
  if (sub == "status" && !mine) {
    return nodeSays(node, "can only update pod status for pods with spec.nodeName set to itself");
  }
  if (sub == "eviction" && !mine) {
    std::string out = "node ";
    return out.append(node).append(" can only evict pods with spec.nodeName set to itself");
  }
  return {};
}

std::vector<std::string> restrictedLabels(const std::map<std::string, std::string>& labels) {
  std::vector<std::string> out;
  for (const auto& [k, v] : labels) {
    if (k.rfind(kRestrictedLabelPrefix, 0) == 0) out.push_back(k);
  }
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out.append(", ");
    out.append(s);
  }
  return out;
}

std::string checkNode(std::string_view node, const Attributes& a, std::string_view object,
                      std::string_view oldObject) {
  std::string name = a.name;
  std::optional<corev1::Node> now;
  if (!object.empty()) {
    now = api::decodeJson<corev1::Node>(object);
    if (name.empty()) name = now->metadata.name;
  }
  if (name != node) {
    std::string rest = "is not allowed to modify node ";
    return nodeSays(node, rest.append(quoted(name)));
  }
  if (!now || a.subresource == "status") return {};
  if (a.verb == "create") {
    if (auto bad = restrictedLabels(now->metadata.labels); !bad.empty()) {
      std::string rest = "is not allowed to set the following labels: ";
      return nodeSays(node, rest.append(joined(bad)));
    }
    return {};
  }
  if (oldObject.empty()) return {};
  const auto old = api::decodeJson<corev1::Node>(oldObject);
  // The node may not give itself labels reserved for administrators, nor change its taints.
  std::vector<std::string> changed;
  for (const auto& k : restrictedLabels(now->metadata.labels)) {
    const auto it = old.metadata.labels.find(k);
    if (it == old.metadata.labels.end() || it->second != now->metadata.labels.at(k)) {
      changed.push_back(k);
    }
  }
  for (const auto& k : restrictedLabels(old.metadata.labels)) {
    if (now->metadata.labels.count(k) == 0) changed.push_back(k);
  }
  if (!changed.empty()) {
    std::string rest = "is not allowed to modify labels: ";
    return nodeSays(node, rest.append(joined(changed)));
  }
  if (!(now->spec.taints == old.spec.taints)) {
    return nodeSays(node, "is not allowed to modify taints");
  }
  return {};
}

}  // namespace

std::string checkNodeRestriction(const UserInfo& user, const Attributes& a, std::string_view object,
                                 std::string_view oldObject) {
  const std::string node = nodeNameOf(user);
  if (node.empty() || !a.isResourceRequest) return {};
  if (a.group.empty() && a.resource == "pods") return checkPod(node, a, object, oldObject);
  if (a.group.empty() && a.resource == "nodes") {
    if (a.verb == "get" || a.verb == "list" || a.verb == "watch") return {};
    return checkNode(node, a, object, oldObject);
  }
  if (a.group == "coordination.k8s.io" && a.resource == "leases") {
    if (a.namespace_ != kNodeLeaseNamespace) return {};
    std::string name = a.name;
    if (name.empty() && !object.empty()) {
      name = api::decodeJson<api::meta::v1::PartialObjectMetadata>(object).metadata.name;
    }
    if (name != node) return "can only access node lease with the same name as the requesting node";
  }
  return {};
}

}  // namespace kite::controlplane
