#pragma once
// Small builders of Nodes and Pods for the scheduler's unit tests.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/api/quantity.h"
#include "kite/controlplane/scheduler/algorithm.h"
#include "kite/controlplane/scheduler/framework.h"
#include "kite/controlplane/scheduler/preemption.h"

namespace kite::controlplane::scheduler::testing {

namespace corev1 = api::core::v1;

inline std::map<std::string, api::Quantity> resources(const std::string& cpu,
                                                      const std::string& memory,
                                                      const std::string& pods = "") {
  std::map<std::string, api::Quantity> r;
  if (!cpu.empty()) r["cpu"] = api::Quantity::parse(cpu);
  if (!memory.empty()) r["memory"] = api::Quantity::parse(memory);
  if (!pods.empty()) r["pods"] = api::Quantity::parse(pods);
  return r;
}

inline corev1::Node makeNode(const std::string& name, const std::string& cpu = "4",
                             const std::string& memory = "8Gi", const std::string& pods = "110") {
  corev1::Node n;
  n.metadata.name = name;
  n.metadata.labels["kubernetes.io/hostname"] = name;
  n.status.allocatable = resources(cpu, memory, pods);
  n.status.capacity = n.status.allocatable;
  return n;
}

inline corev1::Pod makePod(const std::string& name, const std::string& cpu = "",
                           const std::string& memory = "") {
  corev1::Pod p;
  p.metadata.name = name;
  p.metadata.namespace_ = "default";
  p.metadata.uid = "uid-" + name;
  corev1::Container c;
  c.name = "app";
  c.image = "busybox";
  c.resources.requests = resources(cpu, memory);
  p.spec.containers.push_back(c);
  return p;
}

inline PodInfo info(const corev1::Pod& pod) {
  return PodInfo::from(std::make_shared<const corev1::Pod>(pod));
}

inline NodeInfo nodeInfo(const corev1::Node& node, const std::vector<corev1::Pod>& pods = {}) {
  NodeInfo n(std::make_shared<const corev1::Node>(node));
  for (auto p : pods) {
    p.spec.nodeName = node.metadata.name;
    n.addPod(info(p));
  }
  return n;
}

// The FailedScheduling text as the scheduler writes it: the filters' part, then what
// preemption (no PodDisruptionBudgets, nobody nominated) says.
inline std::string failedSchedulingMessage(const FitError& error, const PodInfo& pod,
                                           const std::vector<const NodeInfo*>& nodes,
                                           const VolumeLister* volumes = nullptr) {
  return error.message(Preemptor(volumes, 1).preempt(pod, nodes, error.statuses(), {}, {}).message);
}

// The nodes as the algorithm takes them.
inline std::vector<const NodeInfo*> pointers(const std::vector<NodeInfo>& nodes) {
  std::vector<const NodeInfo*> out;
  out.reserve(nodes.size());
  for (const auto& n : nodes) out.push_back(&n);
  return out;
}

}  // namespace kite::controlplane::scheduler::testing
