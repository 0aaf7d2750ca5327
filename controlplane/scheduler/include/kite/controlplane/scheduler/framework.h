#pragma once
// The scheduler's view of the cluster, as upstream's framework has it: the resources a pod
// requests, a node with the pods assigned to it and their aggregated requests (NodeInfo),
// and the Status a filter answers with. Plain data, no API calls: the filters and scores work
// on these, so they are tested without a server.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kite/api/core/v1/types.h"

namespace kite::controlplane::scheduler {

namespace corev1 = api::core::v1;

// Requests of the resources the scheduler counts. cpu in millicores, the others in bytes.
struct Resource {
  std::int64_t milliCpu = 0;
  std::int64_t memory = 0;
  std::int64_t ephemeralStorage = 0;
  // Extended resources (example.com/gpu) and hugepages, in their plain value.
  std::map<std::string, std::int64_t> scalar;

  void add(const Resource& other);
  void subtract(const Resource& other);
  // Each resource the larger of the two.
  void setMax(const Resource& other);
};

// A resource map (requests or allocatable) as a Resource; "pods" is left out.
Resource resourceFromMap(const std::map<std::string, api::Quantity>& values);
// What the pod asks for as upstream's computePodResourceRequest: the sum of the containers,
// at least the largest init container (plus restartable init containers, which keep
// running), plus the pod's overhead. spec.resources (pod-level) wins when set.
Resource podRequests(const corev1::Pod& pod);
// As podRequests, but a container asking for no cpu or memory counts as 100m / 200Mi
// (upstream's non-zero defaults for scoring, so empty pods still spread).
Resource podNonZeroRequests(const corev1::Pod& pod);

struct HostPort {
  std::string ip;        // "0.0.0.0" when the pod left it empty
  std::string protocol;  // TCP, UDP, SCTP
  std::int32_t port = 0;
  bool operator==(const HostPort&) const = default;
};
// The host ports the pod's containers ask for (hostPort > 0).
std::vector<HostPort> podHostPorts(const corev1::Pod& pod);
// Upstream's conflict rule: same protocol and port, and the same IP or either one 0.0.0.0.
bool hostPortsConflict(const HostPort& a, const HostPort& b);

struct PodInfo {
  std::shared_ptr<const corev1::Pod> pod;
  Resource requests;
  Resource nonZeroRequests;
  std::vector<HostPort> hostPorts;
  std::string controllerUid;  // of the owner reference with controller: true
  bool hasRequiredAntiAffinity = false;
  bool hasAffinityTerms = false;

  static PodInfo from(std::shared_ptr<const corev1::Pod> pod);
};

// A node and the pods on it (bound or assumed), with their requests added up.
class NodeInfo {
 public:
  NodeInfo() = default;
  explicit NodeInfo(std::shared_ptr<const corev1::Node> node) { setNode(std::move(node)); }

  void setNode(std::shared_ptr<const corev1::Node> node);
  // The node object is gone; its pods stay until they are removed.
  void clearNode() { node_.reset(); }
  const corev1::Node* node() const { return node_.get(); }
  const std::string& name() const { return name_; }

  void addPod(PodInfo pod);
  // False when the pod was not on this node.
  bool removePod(const std::string& key);
  bool hasPod(const std::string& key) const { return pods_.contains(key); }

  const std::map<std::string, PodInfo>& pods() const { return pods_; }
  const Resource& allocatable() const { return allocatable_; }
  std::int64_t allowedPodNumber() const { return allowedPods_; }
  const Resource& requested() const { return requested_; }
  const Resource& nonZeroRequested() const { return nonZeroRequested_; }
  const std::vector<HostPort>& usedPorts() const { return usedPorts_; }
  // Pods on the node owned by the controller with this UID.
  int podsOwnedBy(const std::string& controllerUid) const;
  // Pods here with required anti-affinity (their terms constrain newcomers).
  int podsWithRequiredAntiAffinity() const { return podsWithRequiredAntiAffinity_; }
  int podsWithAffinityTerms() const { return podsWithAffinityTerms_; }

 private:
  std::shared_ptr<const corev1::Node> node_;
  std::string name_;
  Resource allocatable_;
  std::int64_t allowedPods_ = 0;
  Resource requested_;
  Resource nonZeroRequested_;
  std::vector<HostPort> usedPorts_;
  std::map<std::string, int> ownedBy_;
  int podsWithRequiredAntiAffinity_ = 0;
  int podsWithAffinityTerms_ = 0;
  std::map<std::string, PodInfo> pods_;
};

// What a filter says about a node. UnschedulableAndUnresolvable: preemption cannot help.
enum class Code { Success, Unschedulable, UnschedulableAndUnresolvable };

struct Status {
  Code code = Code::Success;
  std::vector<std::string> reasons;

  bool ok() const { return code == Code::Success; }
  static Status success() { return {}; }
  static Status unschedulable(std::string reason) {
    return {Code::Unschedulable, {std::move(reason)}};
  }
  static Status unresolvable(std::string reason) {
    return {Code::UnschedulableAndUnresolvable, {std::move(reason)}};
  }
};

// Upstream's reason strings (kubectl describe shows them; users search for them).
namespace reasons {
inline constexpr std::string_view kNodeName = "node(s) didn't match the requested node name";
inline constexpr std::string_view kUnschedulable = "node(s) were unschedulable";
inline constexpr std::string_view kNodeAffinity =
    "node(s) didn't match Pod's node affinity/selector";
inline constexpr std::string_view kNodePorts =
    "node(s) didn't have free ports for the requested pod ports";
inline constexpr std::string_view kTooManyPods = "Too many pods";
inline constexpr std::string_view kPodAffinity = "node(s) didn't match pod affinity rules";
inline constexpr std::string_view kPodAntiAffinity = "node(s) didn't match pod anti-affinity rules";
inline constexpr std::string_view kExistingAntiAffinity =
    "node(s) didn't satisfy existing pods anti-affinity rules";
inline constexpr std::string_view kTopologySpread =
    "node(s) didn't match pod topology spread constraints";
inline constexpr std::string_view kTopologySpreadMissingLabel =
    "node(s) didn't match pod topology spread constraints (missing required label)";
inline constexpr std::string_view kVolumeNodeConflict = "node(s) had volume node affinity conflict";
inline constexpr std::string_view kNoPersistentVolumes =
    "node(s) didn't find available persistent volumes to bind";
}  // namespace reasons

}  // namespace kite::controlplane::scheduler
