// Resource arithmetic, what a pod requests, and the per-node aggregation the filters read.
#include <algorithm>
#include <utility>

#include "kite/api/meta.h"
#include "kite/controlplane/scheduler/framework.h"

namespace kite::controlplane::scheduler {

namespace {

constexpr std::int64_t kDefaultMilliCpuRequest = 100;                // upstream's non-zero cpu
constexpr std::int64_t kDefaultMemoryRequest = 200LL * 1024 * 1024;  // and memory

bool isScalar(const std::string& name) {
  return name != "cpu" && name != "memory" && name != "ephemeral-storage" && name != "pods" &&
         name != "storage";
}

Resource containerRequests(const corev1::Container& c, bool nonZero) {
  Resource r = resourceFromMap(c.resources.requests);
  // A limit without a request means the request equals the limit (API defaulting); the
  // stored pod normally has both already.
  for (const auto& [name, q] : c.resources.limits) {
    if (c.resources.requests.contains(name)) continue;
    Resource one = resourceFromMap({{name, q}});
    r.add(one);
  }
  if (nonZero) {
    if (!c.resources.requests.contains("cpu") && !c.resources.limits.contains("cpu")) {
      r.milliCpu = kDefaultMilliCpuRequest;
    }
    if (!c.resources.requests.contains("memory") && !c.resources.limits.contains("memory")) {
      r.memory = kDefaultMemoryRequest;
    }
  }
  return r;
}

Resource computeRequests(const corev1::Pod& pod, bool nonZero) {
  Resource sum;
  for (const auto& c : pod.spec.containers) sum.add(containerRequests(c, nonZero));
  // Init containers run one after another; sidecars (restartPolicy Always) keep running
  // beside the later ones and the app containers.
  Resource initMax;
  Resource sidecars;
  for (const auto& c : pod.spec.initContainers) {
    Resource r = containerRequests(c, nonZero);
    if (c.restartPolicy.value_or("") == "Always") {
      sidecars.add(r);
      initMax.setMax(sidecars);
    } else {
      Resource withSidecars = sidecars;
      withSidecars.add(r);
      initMax.setMax(withSidecars);
    }
  }
  sum.add(sidecars);
  sum.setMax(initMax);
  if (pod.spec.resources && !pod.spec.resources->requests.empty()) {
    Resource podLevel = resourceFromMap(pod.spec.resources->requests);
    if (podLevel.milliCpu > 0) sum.milliCpu = podLevel.milliCpu;
    if (podLevel.memory > 0) sum.memory = podLevel.memory;
  }
  sum.add(resourceFromMap(pod.spec.overhead));
  return sum;
}

bool podHasRequiredAntiAffinity(const corev1::Pod& pod) {
  return pod.spec.affinity && pod.spec.affinity->podAntiAffinity &&
         !pod.spec.affinity->podAntiAffinity->requiredDuringSchedulingIgnoredDuringExecution
              .empty();
}

bool podHasAffinityTerms(const corev1::Pod& pod) {
  if (!pod.spec.affinity) return false;
  const auto& a = *pod.spec.affinity;
  return (a.podAffinity &&
          (!a.podAffinity->requiredDuringSchedulingIgnoredDuringExecution.empty() ||
           !a.podAffinity->preferredDuringSchedulingIgnoredDuringExecution.empty())) ||
         (a.podAntiAffinity &&
          !a.podAntiAffinity->preferredDuringSchedulingIgnoredDuringExecution.empty());
}

}  // namespace

void Resource::add(const Resource& other) {
  milliCpu += other.milliCpu;
  memory += other.memory;
  ephemeralStorage += other.ephemeralStorage;
  for (const auto& [name, v] : other.scalar) scalar[name] += v;
}

void Resource::subtract(const Resource& other) {
  milliCpu -= other.milliCpu;
  memory -= other.memory;
  ephemeralStorage -= other.ephemeralStorage;
  for (const auto& [name, v] : other.scalar) scalar[name] -= v;
}

void Resource::setMax(const Resource& other) {
  milliCpu = std::max(milliCpu, other.milliCpu);
  memory = std::max(memory, other.memory);
  ephemeralStorage = std::max(ephemeralStorage, other.ephemeralStorage);
  for (const auto& [name, v] : other.scalar) scalar[name] = std::max(scalar[name], v);
}

Resource resourceFromMap(const std::map<std::string, api::Quantity>& values) {
  Resource r;
  for (const auto& [name, q] : values) {
    if (name == "cpu") {
      r.milliCpu = q.milliValue();
    } else if (name == "memory") {
      r.memory = q.value();
    } else if (name == "ephemeral-storage") {
      r.ephemeralStorage = q.value();
    } else if (isScalar(name)) {
      r.scalar[name] = q.value();
    }
  }
  return r;
}

Resource podRequests(const corev1::Pod& pod) { return computeRequests(pod, false); }
Resource podNonZeroRequests(const corev1::Pod& pod) { return computeRequests(pod, true); }

std::vector<HostPort> podHostPorts(const corev1::Pod& pod) {
  std::vector<HostPort> out;
  auto collect = [&](const std::vector<corev1::Container>& containers) {
    for (const auto& c : containers) {
      for (const auto& p : c.ports) {
        if (p.hostPort <= 0) continue;
        out.push_back({p.hostIP.empty() ? "0.0.0.0" : p.hostIP,
                       p.protocol.empty() ? "TCP" : p.protocol, p.hostPort});
      }
    }
  };
  collect(pod.spec.initContainers);
  collect(pod.spec.containers);
  return out;
}

bool hostPortsConflict(const HostPort& a, const HostPort& b) {
  if (a.port != b.port || a.protocol != b.protocol) return false;
  return a.ip == b.ip || a.ip == "0.0.0.0" || b.ip == "0.0.0.0";
}

PodInfo PodInfo::from(std::shared_ptr<const corev1::Pod> pod) {
  PodInfo info;
  info.requests = podRequests(*pod);
  info.nonZeroRequests = podNonZeroRequests(*pod);
  info.hostPorts = podHostPorts(*pod);
  if (const auto* owner = api::controllerOf(pod->metadata)) info.controllerUid = owner->uid;
  info.hasRequiredAntiAffinity = podHasRequiredAntiAffinity(*pod);
  info.hasAffinityTerms = podHasAffinityTerms(*pod);
  info.pod = std::move(pod);
  return info;
}

void NodeInfo::setNode(std::shared_ptr<const corev1::Node> node) {
  node_ = std::move(node);
  name_ = node_->metadata.name;
  allocatable_ = resourceFromMap(node_->status.allocatable);
  const auto pods = node_->status.allocatable.find("pods");
  allowedPods_ = pods == node_->status.allocatable.end() ? 0 : pods->second.value();
}

void NodeInfo::addPod(PodInfo pod) {
  const std::string key = api::fullName(pod.pod->metadata);
  removePod(key);
  requested_.add(pod.requests);
  nonZeroRequested_.add(pod.nonZeroRequests);
  usedPorts_.insert(usedPorts_.end(), pod.hostPorts.begin(), pod.hostPorts.end());
  if (!pod.controllerUid.empty()) ++ownedBy_[pod.controllerUid];
  if (pod.hasRequiredAntiAffinity) ++podsWithRequiredAntiAffinity_;
  if (pod.hasAffinityTerms) ++podsWithAffinityTerms_;
  pods_.emplace(key, std::move(pod));
}

bool NodeInfo::removePod(const std::string& key) {
  const auto it = pods_.find(key);
  if (it == pods_.end()) return false;
  const PodInfo& pod = it->second;
  requested_.subtract(pod.requests);
  nonZeroRequested_.subtract(pod.nonZeroRequests);
  for (const auto& port : pod.hostPorts) {
    const auto used = std::find(usedPorts_.begin(), usedPorts_.end(), port);
    if (used != usedPorts_.end()) usedPorts_.erase(used);
  }
  if (!pod.controllerUid.empty() && --ownedBy_[pod.controllerUid] <= 0) {
    ownedBy_.erase(pod.controllerUid);
  }
  if (pod.hasRequiredAntiAffinity) --podsWithRequiredAntiAffinity_;
  if (pod.hasAffinityTerms) --podsWithAffinityTerms_;
  pods_.erase(it);
  return true;
}

int NodeInfo::podsOwnedBy(const std::string& controllerUid) const {
  const auto it = ownedBy_.find(controllerUid);
  return it == ownedBy_.end() ? 0 : it->second;
}

}  // namespace kite::controlplane::scheduler
