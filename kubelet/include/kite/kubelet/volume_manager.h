#pragma once
// Sets up a pod's volumes before its containers start and tears them down
// after it is gone, on top of the volumes/ plugins: hostPath (type checks),
// emptyDir (disk or tmpfs), configMap/secret/downwardAPI/projected (atomic
// writes), and turns each container's volumeMounts (subPath, subPathExpr,
// readOnly, mountPropagation) into CRI mounts.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/cri/api.h"
#include "kite/kubelet/config_source.h"
#include "kite/kubelet/container_env.h"
#include "kite/volumes/atomic_writer.h"
#include "kite/volumes/mounter.h"

namespace kite::kubelet {

class VolumeManager {
 public:
  VolumeManager(volumes::Mounter& mounter, std::filesystem::path rootDir, ConfigSource& config,
                uint64_t nodeAllocatableMemory);

  // <root-dir>/pods/<uid>: the pod's own directory (volumes, subpaths, hosts file).
  std::filesystem::path podDir(const std::string& podUid) const;

  // Sets up (or refreshes) every volume; returns volume name -> host path.
  // Throws volumes::VolumeError or ContainerConfigError with a FailedMount
  // message naming the volume.
  std::map<std::string, std::string> setUp(const api::core::v1::Pod& pod,
                                           const PodRuntimeFacts& facts);

  std::vector<cri::v1::Mount> mountsFor(const api::core::v1::Pod& pod,
                                        const api::core::v1::Container& container,
                                        const std::map<std::string, std::string>& volumePaths,
                                        const EnvList& env);

  // Unmounts and removes everything under the pod's directory. hostPath data
  // is never touched (it is not under the pod directory).
  void tearDown(const std::string& podUid);

  // Bytes used by each disk emptyDir of the pod with a sizeLimit, against that
  // limit, for eviction: returns the volumes over their limit.
  std::vector<std::string> emptyDirsOverLimit(const api::core::v1::Pod& pod) const;

 private:
  enum class Kind { kConfigMap, kSecret };
  // configMap or secret data turned into files (all keys, or the items).
  volumes::Payload configPayload(const std::string& ns, Kind kind, const std::string& name,
                                 const std::vector<api::core::v1::KeyToPath>& items, bool optional,
                                 uint32_t defaultMode);
  static volumes::Payload downwardPayload(
      const api::core::v1::Pod& pod, const std::vector<api::core::v1::DownwardAPIVolumeFile>& items,
      uint32_t defaultMode, const PodRuntimeFacts& facts);
  // The sources of a projected volume merged into one payload.
  volumes::Payload projectedPayload(const api::core::v1::Pod& pod,
                                    const api::core::v1::ProjectedVolumeSource& projected,
                                    const PodRuntimeFacts& facts);

  volumes::Mounter& mounter_;
  std::filesystem::path rootDir_;
  ConfigSource& config_;
  uint64_t nodeAllocatableMemory_;
};

}  // namespace kite::kubelet
