// core/v1 kinds other than pods: their defaults, checks, field selectors and columns.
#include <string>

#include "../registry.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/meta.h"
#include "kite/api/pod_warnings.h"

namespace kite::controlplane::apiserver {

std::string accessModesText(const std::vector<std::string>& modes);

namespace {

namespace corev1 = api::core::v1;
using api::FieldError;

std::string orNone(const std::string& s) { return s.empty() ? std::string("<none>") : s; }

std::string joined(const std::vector<std::string>& v, const char* sep = ",") {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out.append(sep);
    out.append(s);
  }
  return out;
}

std::string selectorText(const std::map<std::string, std::string>& s) {
  std::string out;
  for (const auto& [k, v] : s) {
    if (!out.empty()) out.push_back(',');
    out.append(k).append("=").append(v);
  }
  return orNone(out);
}

template <class T>
std::string age(const T& o, TimePoint now) {
  return humanAge(creationTime(o.metadata), now);
}

void addNamespaces(Registry& r) {
  KindHooks<corev1::Namespace> h;
  h.prepareForCreate = [](corev1::Namespace& ns) {
    ns.status = {};
    ns.status.phase = "Active";
    if (ns.spec.finalizers.empty()) ns.spec.finalizers = {"kubernetes"};
  };
  h.defaults = [](corev1::Namespace& ns) {
    // Upstream labels every namespace with its own name.
    ns.metadata.labels["kubernetes.io/metadata.name"] = ns.metadata.name;
  };
  h.fields = {{"status.phase", [](const corev1::Namespace& n) { return n.status.phase; }}};
  h.columns = {{"Status", "string", "", "The status of the namespace", 0}, ageColumn()};
  h.row = [](const corev1::Namespace& n, TimePoint now) -> std::vector<TableCell> {
    return {n.status.phase, age(n, now)};
  };
  r.add(std::make_unique<TypedResource<corev1::Namespace>>(builtinInfo("", "v1", "namespaces"),
                                                           std::move(h), NameRule::kDnsLabel));
}

std::string servicePorts(const corev1::Service& s) {
  std::string out;
  for (const auto& p : s.spec.ports) {
    if (!out.empty()) out.push_back(',');
    out.append(std::to_string(p.port));
    if (p.nodePort != 0) out.append(":").append(std::to_string(p.nodePort));
    out.append("/").append(p.protocol.empty() ? "TCP" : p.protocol);
  }
  return out.empty() ? "<none>" : out;
}

std::string externalIp(const corev1::Service& s) {
  const auto& type = s.spec.type;
  if (type == "ExternalName") return s.spec.externalName;
  std::vector<std::string> ips = s.spec.externalIPs;
  if (type == "LoadBalancer") {
    for (const auto& ing : s.status.loadBalancer.ingress) {
      ips.push_back(!ing.ip.empty() ? ing.ip : ing.hostname);
    }
    if (ips.empty()) return "<pending>";
  }
  return ips.empty() ? "<none>" : joined(ips);
}

void addServices(Registry& r) {
  KindHooks<corev1::Service> h;
  h.defaults = [](corev1::Service& s) {
    auto& spec = s.spec;
    if (spec.type.empty()) spec.type = "ClusterIP";
    if (spec.type == "ExternalName") return;
    if (spec.sessionAffinity.empty()) spec.sessionAffinity = "None";
    if (!spec.internalTrafficPolicy) spec.internalTrafficPolicy = "Cluster";
    if ((spec.type == "NodePort" || spec.type == "LoadBalancer") &&
        spec.externalTrafficPolicy.empty()) {
      spec.externalTrafficPolicy = "Cluster";
    }
    if (spec.type == "LoadBalancer" && !spec.allocateLoadBalancerNodePorts) {
      spec.allocateLoadBalancerNodePorts = true;
    }
    for (auto& p : spec.ports) {
      if (p.protocol.empty()) p.protocol = "TCP";
      if (p.targetPort.isInt() && p.targetPort.intValue() == 0) p.targetPort = p.port;
    }
  };
  h.prepareForCreate = [](corev1::Service& s) { s.status = {}; };
  h.validate = [](std::vector<FieldError>& errors, const corev1::Service& s) {
    const auto& spec = s.spec;
    static const std::vector<std::string> kTypes = {"ClusterIP", "NodePort", "LoadBalancer",
                                                    "ExternalName"};
    if (std::find(kTypes.begin(), kTypes.end(), spec.type) == kTypes.end()) {
      errors.push_back(FieldError::notSupported("spec.type", spec.type, kTypes));
    }
    if (spec.type == "ExternalName") {
      if (spec.externalName.empty()) {
        errors.push_back(FieldError::required("spec.externalName", ""));
      }
      return;
    }
    if (spec.ports.empty() && spec.clusterIP != "None") {
      errors.push_back(FieldError::required("spec.ports", ""));
    }
    for (std::size_t i = 0; i < spec.ports.size(); ++i) {
      const auto& p = spec.ports[i];
      const std::string path = "spec.ports[" + std::to_string(i) + "]";
      if (p.port < 1 || p.port > 65535) {
        errors.push_back(
            FieldError::invalid(path + ".port", p.port, "must be between 1 and 65535, inclusive"));
      }
      if (spec.ports.size() > 1 && p.name.empty()) {
        errors.push_back(FieldError::required(path + ".name", ""));
      }
      static const std::vector<std::string> kProtocols = {"SCTP", "TCP", "UDP"};
      if (std::find(kProtocols.begin(), kProtocols.end(), p.protocol) == kProtocols.end()) {
        errors.push_back(FieldError::notSupported(path + ".protocol", p.protocol, kProtocols));
      }
      if (p.nodePort != 0 && spec.type == "ClusterIP") {
        errors.push_back(FieldError::forbidden(path + ".nodePort",
                                               "may not be used when `type` is 'ClusterIP'"));
      }
    }
  };
  h.validateUpdate = [](std::vector<FieldError>& errors, const corev1::Service& s,
                        const corev1::Service& old) {
    if (!old.spec.clusterIP.empty() && s.spec.clusterIP != old.spec.clusterIP &&
        old.spec.type != "ExternalName" && s.spec.type != "ExternalName") {
      errors.push_back(
          FieldError::invalid("spec.clusterIPs[0]", s.spec.clusterIP, "may not change once set"));
    }
  };
  h.fields = {{"spec.clusterIP", [](const corev1::Service& s) { return s.spec.clusterIP; }},
              {"spec.type", [](const corev1::Service& s) { return s.spec.type; }}};
  h.columns = {
      {"Type", "string", "", "The type of the service.", 0},
      {"Cluster-IP", "string", "", "The cluster IP of the service.", 0},
      {"External-IP", "string", "", "The external IP of the service.", 0},
      {"Port(s)", "string", "", "The ports of the service.", 0},
      ageColumn(),
      {"Selector", "string", "", "The selector of the service.", 1},
  };
  h.row = [](const corev1::Service& s, TimePoint now) -> std::vector<TableCell> {
    return {s.spec.type, orNone(s.spec.clusterIP),     externalIp(s), servicePorts(s),
            age(s, now), selectorText(s.spec.selector)};
  };
  r.add(std::make_unique<TypedResource<corev1::Service>>(builtinInfo("", "v1", "services"),
                                                         std::move(h), NameRule::kDnsLabel));
}

void addConfigMapsAndSecrets(Registry& r) {
  KindHooks<corev1::ConfigMap> cm;
  cm.validate = [](std::vector<FieldError>& errors, const corev1::ConfigMap& c) {
    constexpr std::size_t kMaxBytes = std::size_t{1024} * 1024;
    std::size_t total = 0;
    for (const auto& [k, v] : c.data) total += k.size() + v.size();
    for (const auto& [k, v] : c.binaryData) total += k.size() + v.size();
    if (total > kMaxBytes) {
      errors.push_back(FieldError::tooLong("", kMaxBytes));
      errors.back().detail = "must have at most 1048576 bytes";
    }
    for (const auto& [k, v] : c.data) {
      if (c.binaryData.count(k) != 0) errors.push_back(FieldError::duplicate("data[" + k + "]", k));
    }
  };
  cm.columns = {{"Data", "integer", "", "Number of data entries", 0}, ageColumn()};
  cm.row = [](const corev1::ConfigMap& c, TimePoint now) -> std::vector<TableCell> {
    return {static_cast<std::int64_t>(c.data.size() + c.binaryData.size()), age(c, now)};
  };
  r.add(std::make_unique<TypedResource<corev1::ConfigMap>>(builtinInfo("", "v1", "configmaps"),
                                                           std::move(cm)));

  KindHooks<corev1::Secret> sec;
  sec.defaults = [](corev1::Secret& s) {
    if (s.type.empty()) s.type = "Opaque";
    // stringData is write-only: merged into data (as bytes) and never stored.
    for (auto& [k, v] : s.stringData) s.data[k] = v;
    s.stringData.clear();
  };
  sec.fields = {{"type", [](const corev1::Secret& s) { return s.type; }}};
  sec.columns = {{"Type", "string", "", "The type of the secret", 0},
                 {"Data", "integer", "", "Number of data entries", 0},
                 ageColumn()};
  sec.row = [](const corev1::Secret& s, TimePoint now) -> std::vector<TableCell> {
    return {s.type, static_cast<std::int64_t>(s.data.size()), age(s, now)};
  };
  r.add(std::make_unique<TypedResource<corev1::Secret>>(builtinInfo("", "v1", "secrets"),
                                                        std::move(sec)));
}

std::string nodeStatus(const corev1::Node& n) {
  std::string status = "Unknown";
  if (const auto* c = api::findCondition(n.status.conditions, "Ready")) {
    status = c->status == "True" ? "Ready" : "NotReady";
  }
  if (n.spec.unschedulable) status += ",SchedulingDisabled";
  return status;
}

std::string nodeRoles(const corev1::Node& n) {
  static constexpr std::string_view kPrefix = "node-role.kubernetes.io/";
  std::vector<std::string> roles;
  for (const auto& [k, v] : n.metadata.labels) {
    if (k.rfind(kPrefix, 0) == 0 && k.size() > kPrefix.size()) {
      roles.push_back(k.substr(kPrefix.size()));
    } else if (k == "kubernetes.io/role" && !v.empty()) {
      roles.push_back(v);
    }
  }
  return roles.empty() ? "<none>" : joined(roles);
}

std::string nodeAddress(const corev1::Node& n, const char* type) {
  for (const auto& a : n.status.addresses) {
    if (a.type == type) return a.address;
  }
  return "<none>";
}

void addNodes(Registry& r) {
  KindHooks<corev1::Node> h;
  h.fields = {{"spec.unschedulable", [](const corev1::Node& n) {
                 return std::string(n.spec.unschedulable ? "true" : "false");
               }}};
  h.columns = {
      {"Status", "string", "", "The status of the node", 0},
      {"Roles", "string", "", "The roles of the node", 0},
      ageColumn(),
      {"Version", "string", "", "Kubelet Version reported by the node.", 0},
      {"Internal-IP", "string", "", "List of addresses reachable to the node.", 1},
      {"External-IP", "string", "", "List of addresses reachable to the node.", 1},
      {"OS-Image", "string", "", "OS Image reported by the node from /etc/os-release.", 1},
      {"Kernel-Version", "string", "", "Kernel Version reported by the node.", 1},
      {"Container-Runtime", "string", "", "Container Runtime Version reported by the node.", 1},
  };
  h.row = [](const corev1::Node& n, TimePoint now) -> std::vector<TableCell> {
    const auto& info = n.status.nodeInfo;
    return {nodeStatus(n),
            nodeRoles(n),
            age(n, now),
            info.kubeletVersion,
            nodeAddress(n, "InternalIP"),
            nodeAddress(n, "ExternalIP"),
            orNone(info.osImage),
            orNone(info.kernelVersion),
            orNone(info.containerRuntimeVersion)};
  };
  r.add(
      std::make_unique<TypedResource<corev1::Node>>(builtinInfo("", "v1", "nodes"), std::move(h)));
}

void addSimpleCoreKinds(Registry& r) {
  KindHooks<corev1::ServiceAccount> sa;
  sa.columns = {{"Secrets", "string", "",
                 "Secrets is a list of the secrets in the same namespace that pods running using "
                 "this ServiceAccount are allowed to use.",
                 0},
                ageColumn()};
  sa.row = [](const corev1::ServiceAccount& s, TimePoint now) -> std::vector<TableCell> {
    return {static_cast<std::int64_t>(s.secrets.size()), age(s, now)};
  };
  r.add(std::make_unique<TypedResource<corev1::ServiceAccount>>(
      builtinInfo("", "v1", "serviceaccounts"), std::move(sa)));

  KindHooks<corev1::Endpoints> ep;
  ep.columns = {{"Endpoints", "string", "", "Endpoints is the list of endpoints.", 0}, ageColumn()};
  ep.row = [](const corev1::Endpoints& e, TimePoint now) -> std::vector<TableCell> {
    std::vector<std::string> list;
    for (const auto& s : e.subsets) {
      for (const auto& a : s.addresses) {
        if (s.ports.empty()) {
          list.push_back(a.ip);
        }
        for (const auto& p : s.ports) list.push_back(a.ip + ":" + std::to_string(p.port));
      }
    }
    std::string text = list.empty() ? "<none>" : "";
    for (std::size_t i = 0; i < list.size() && i < 3; ++i) {
      if (i > 0) text.push_back(',');
      text += list[i];
    }
    if (list.size() > 3) text += " + " + std::to_string(list.size() - 3) + " more...";
    return {text, age(e, now)};
  };
  r.add(std::make_unique<TypedResource<corev1::Endpoints>>(builtinInfo("", "v1", "endpoints"),
                                                           std::move(ep)));

  KindHooks<corev1::Event> ev;
  ev.fields = {
      {"involvedObject.kind", [](const corev1::Event& e) { return e.involvedObject.kind; }},
      {"involvedObject.name", [](const corev1::Event& e) { return e.involvedObject.name; }},
      {"involvedObject.namespace",
       [](const corev1::Event& e) { return e.involvedObject.namespace_; }},
      {"involvedObject.uid", [](const corev1::Event& e) { return e.involvedObject.uid; }},
      {"reason", [](const corev1::Event& e) { return e.reason; }},
      {"type", [](const corev1::Event& e) { return e.type; }},
      {"source", [](const corev1::Event& e) { return e.source.component; }},
  };
  r.add(std::make_unique<TypedResource<corev1::Event>>(builtinInfo("", "v1", "events"),
                                                       std::move(ev)));

  KindHooks<corev1::PersistentVolume> pv;
  pv.prepareForCreate = [](corev1::PersistentVolume& v) {
    v.status = {};
    v.status.phase = "Pending";
  };
  pv.defaults = [](corev1::PersistentVolume& v) {
    if (v.spec.persistentVolumeReclaimPolicy.empty())
      v.spec.persistentVolumeReclaimPolicy = "Retain";
    if (!v.spec.volumeMode) v.spec.volumeMode = "Filesystem";
  };
  pv.columns = {{"Capacity", "string", "", "", 0},
                {"Access Modes", "string", "", "", 0},
                {"Reclaim Policy", "string", "", "", 0},
                {"Status", "string", "", "", 0},
                {"Claim", "string", "", "", 0},
                {"StorageClass", "string", "", "", 0},
                {"VolumeAttributesClass", "string", "", "", 0},
                {"Reason", "string", "", "", 0},
                ageColumn(),
                {"VolumeMode", "string", "", "", 1}};
  pv.row = [](const corev1::PersistentVolume& v, TimePoint now) -> std::vector<TableCell> {
    std::string capacity;
    if (auto it = v.spec.capacity.find("storage"); it != v.spec.capacity.end()) {
      capacity = it->second.toString();
    }
    std::string claim;
    if (v.spec.claimRef) claim = v.spec.claimRef->namespace_ + "/" + v.spec.claimRef->name;
    return {capacity,
            accessModesText(v.spec.accessModes),
            v.spec.persistentVolumeReclaimPolicy,
            v.status.phase,
            claim,
            v.spec.storageClassName,
            std::string("<unset>"),
            v.status.reason,
            age(v, now),
            v.spec.volumeMode.value_or("Filesystem")};
  };
  r.add(std::make_unique<TypedResource<corev1::PersistentVolume>>(
      builtinInfo("", "v1", "persistentvolumes"), std::move(pv)));

  KindHooks<corev1::PersistentVolumeClaim> pvc;
  pvc.prepareForCreate = [](corev1::PersistentVolumeClaim& c) {
    c.status = {};
    c.status.phase = "Pending";
  };
  pvc.defaults = [](corev1::PersistentVolumeClaim& c) {
    if (!c.spec.volumeMode) c.spec.volumeMode = "Filesystem";
  };
  pvc.columns = {{"Status", "string", "", "", 0},
                 {"Volume", "string", "", "", 0},
                 {"Capacity", "string", "", "", 0},
                 {"Access Modes", "string", "", "", 0},
                 {"StorageClass", "string", "", "", 0},
                 {"VolumeAttributesClass", "string", "", "", 0},
                 ageColumn(),
                 {"VolumeMode", "string", "", "", 1}};
  pvc.row = [](const corev1::PersistentVolumeClaim& c, TimePoint now) -> std::vector<TableCell> {
    std::string capacity;
    if (auto it = c.status.capacity.find("storage"); it != c.status.capacity.end()) {
      capacity = it->second.toString();
    }
    return {c.status.phase,
            c.spec.volumeName,
            capacity,
            accessModesText(c.status.accessModes),
            c.spec.storageClassName.value_or(""),
            std::string("<unset>"),
            age(c, now),
            c.spec.volumeMode.value_or("Filesystem")};
  };
  r.add(std::make_unique<TypedResource<corev1::PersistentVolumeClaim>>(
      builtinInfo("", "v1", "persistentvolumeclaims"), std::move(pvc)));

  r.add(std::make_unique<TypedResource<corev1::LimitRange>>(builtinInfo("", "v1", "limitranges"),
                                                            KindHooks<corev1::LimitRange>{}));
  r.add(std::make_unique<TypedResource<corev1::ResourceQuota>>(
      builtinInfo("", "v1", "resourcequotas"), KindHooks<corev1::ResourceQuota>{}));
  KindHooks<corev1::PodTemplate> pt;
  // Upstream: on create, and on an update that changes the template (and so the generation).
  pt.warnings = [](const corev1::PodTemplate& t, const corev1::PodTemplate* old) {
    if (old != nullptr && t.template_ == old->template_) return std::vector<std::string>{};
    return api::podSpecWarnings(t.template_.spec, "template.spec");
  };
  r.add(std::make_unique<TypedResource<corev1::PodTemplate>>(builtinInfo("", "v1", "podtemplates"),
                                                             std::move(pt)));
}

}  // namespace

std::string accessModesText(const std::vector<std::string>& modes) {
  std::string out;
  for (const auto& m : modes) {
    const char* s = m == "ReadWriteOnce"      ? "RWO"
                    : m == "ReadOnlyMany"     ? "ROX"
                    : m == "ReadWriteMany"    ? "RWX"
                    : m == "ReadWriteOncePod" ? "RWOP"
                                              : nullptr;
    if (s == nullptr) continue;
    if (!out.empty()) out.push_back(',');
    out.append(s);
  }
  return out;
}

void addCoreKinds(Registry& r) {
  addNamespaces(r);
  addServices(r);
  addConfigMapsAndSecrets(r);
  addNodes(r);
  addSimpleCoreKinds(r);
}

}  // namespace kite::controlplane::apiserver
