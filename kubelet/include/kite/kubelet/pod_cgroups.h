#pragma once
// Pod-level cgroups. With the cgroupfs driver the runtime creates each
// container's cgroup under the parent the kubelet names, but it neither
// creates nor removes the pod's own cgroup: the kubelet owns those, in every
// hierarchy (cgroup v1 controllers and the v2 tree of a hybrid system).
// Layout as upstream: <root>/kubepods[/burstable|/besteffort]/pod<uid>.

#include <filesystem>
#include <string>
#include <vector>

namespace kite::kubelet {

enum class QosClass { kGuaranteed, kBurstable, kBestEffort };

const char* qosClassName(QosClass qos);

class PodCgroups {
 public:
  // `cgroupfsRoot` is normally /sys/fs/cgroup; `root` the kubelet's
  // --cgroup-root (e.g. "/" or a test's private parent).
  PodCgroups(std::filesystem::path cgroupfsRoot, const std::string& root);

  // The parent path handed to the runtime (LinuxPodSandboxConfig.cgroup_parent).
  std::string podCgroupPath(const std::string& podUid, QosClass qos) const;
  // Creates the pod cgroup in every mounted hierarchy (idempotent).
  void create(const std::string& podUid, QosClass qos) const;
  // Removes the pod cgroup everywhere (idempotent). Children left behind by a
  // runtime are removed depth-first; a cgroup that still has processes stays
  // and is reported by the return value (false).
  bool remove(const std::string& podUid, QosClass qos) const;

  // Mount points of the hierarchies this machine has (v1 controllers + v2).
  std::vector<std::filesystem::path> hierarchies() const;

 private:
  std::filesystem::path cgroupfsRoot_;
  std::string root_;
};

}  // namespace kite::kubelet
