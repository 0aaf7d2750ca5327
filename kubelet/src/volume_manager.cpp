#include "kite/kubelet/volume_manager.h"

#include <spdlog/spdlog.h>

#include "kite/volumes/atomic_writer.h"
#include "kite/volumes/disk_usage.h"
#include "kite/volumes/empty_dir.h"
#include "kite/volumes/error.h"
#include "kite/volumes/host_path.h"
#include "kite/volumes/subpath.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;
namespace fs = std::filesystem;

namespace {
constexpr const char* kEmptyDirPlugin = "kubernetes.io~empty-dir";

std::string pluginDir(const corev1::Volume& volume) {
  if (volume.configMap) return "kubernetes.io~configmap";
  if (volume.secret) return "kubernetes.io~secret";
  if (volume.downwardAPI) return "kubernetes.io~downward-api";
  if (volume.projected) return "kubernetes.io~projected";
  return kEmptyDirPlugin;
}

uint32_t modeOr(const std::optional<int32_t>& mode, uint32_t fallback) {
  return mode ? static_cast<uint32_t>(*mode) : fallback;
}

std::vector<volumes::KeyToPath> keyToPaths(const std::vector<corev1::KeyToPath>& items) {
  std::vector<volumes::KeyToPath> out;
  out.reserve(items.size());
  for (const auto& item : items) {
    volumes::KeyToPath k;
    k.key = item.key;
    k.path = item.path;
    if (item.mode) k.mode = static_cast<uint32_t>(*item.mode);
    out.push_back(std::move(k));
  }
  return out;
}
// Sum of the containers' memory limits, if every container has one.
std::optional<uint64_t> podMemoryLimit(const corev1::Pod& pod) {
  uint64_t total = 0;
  for (const auto& c : pod.spec.containers) {
    auto it = c.resources.limits.find("memory");
    if (it == c.resources.limits.end() || it->second.isZero()) return std::nullopt;
    total += static_cast<uint64_t>(it->second.value());
  }
  return total;
}

}  // namespace

VolumeManager::VolumeManager(volumes::Mounter& mounter, fs::path rootDir, ConfigSource& config,
                             uint64_t nodeAllocatableMemory)
    : mounter_(mounter),
      rootDir_(std::move(rootDir)),
      config_(config),
      nodeAllocatableMemory_(nodeAllocatableMemory) {}

fs::path VolumeManager::podDir(const std::string& podUid) const {
  return rootDir_ / "pods" / podUid;
}

std::map<std::string, std::string> VolumeManager::setUp(const corev1::Pod& pod,
                                                        const PodRuntimeFacts& facts) {
  std::map<std::string, std::string> paths;
  const fs::path dir = podDir(pod.metadata.uid);
  fs::create_directories(dir / "volumes");
  const std::string& ns = pod.metadata.namespace_;
  for (const auto& volume : pod.spec.volumes) {
    const std::string prefix = "MountVolume.SetUp failed for volume \"" + volume.name + "\" : ";
    try {
      if (volume.hostPath) {
        paths[volume.name] =
            volumes::checkHostPath(volume.hostPath->path, volume.hostPath->type.value_or(""));
        continue;
      }
      if (volume.emptyDir) {
        volumes::EmptyDir emptyDir(mounter_, dir.string(), volume.name);
        volumes::EmptyDirOptions options;
        options.medium = volumes::parseStorageMedium(volume.emptyDir->medium);
        std::optional<uint64_t> sizeLimit;
        if (volume.emptyDir->sizeLimit && !volume.emptyDir->sizeLimit->isZero()) {
          sizeLimit = static_cast<uint64_t>(volume.emptyDir->sizeLimit->value());
        }
        if (options.medium == volumes::StorageMedium::kMemory) {
          options.sizeLimitBytes =
              volumes::memoryEmptyDirSize(nodeAllocatableMemory_, podMemoryLimit(pod), sizeLimit);
        } else {
          options.sizeLimitBytes = sizeLimit;  // enforced by eviction, not by the mount
        }
        emptyDir.setUp(options);
        paths[volume.name] = emptyDir.path();
        continue;
      }
      const fs::path target = dir / "volumes" / pluginDir(volume) / volume.name;
      volumes::Payload payload;
      if (volume.configMap || volume.secret) {
        const bool isConfigMap = volume.configMap.has_value();
        const std::string name = isConfigMap ? volume.configMap->name : volume.secret->secretName;
        const bool optional = isConfigMap ? volume.configMap->optional.value_or(false)
                                          : volume.secret->optional.value_or(false);
        auto data = isConfigMap ? config_.configMap(ns, name) : config_.secret(ns, name);
        if (!data && !optional) {
          throw ContainerConfigError(std::string(isConfigMap ? "configmap" : "secret") + " \"" +
                                     name + "\" not found");
        }
        const auto items = keyToPaths(isConfigMap ? volume.configMap->items : volume.secret->items);
        const uint32_t mode =
            modeOr(isConfigMap ? volume.configMap->defaultMode : volume.secret->defaultMode, 0644);
        payload = volumes::makePayload(
            data.value_or(std::map<std::string, std::string>{}), items, mode, optional,
            isConfigMap ? volumes::PayloadSource::kConfigMap : volumes::PayloadSource::kSecret);
      } else if (volume.downwardAPI) {
        const uint32_t mode = modeOr(volume.downwardAPI->defaultMode, 0644);
        for (const auto& item : volume.downwardAPI->items) {
          volumes::FileProjection file;
          if (item.fieldRef) file.data = podFieldValue(pod, item.fieldRef->fieldPath, facts);
          file.mode = modeOr(item.mode, mode);
          payload[item.path] = file;
        }
      } else if (volume.persistentVolumeClaim) {
        throw ContainerConfigError("persistentVolumeClaim \"" +
                                   volume.persistentVolumeClaim->claimName +
                                   "\" needs an API server to look up its volume");
      } else {
        throw ContainerConfigError("volume type not supported by kite");
      }
      fs::create_directories(target);
      volumes::AtomicWriter(target.string()).write(payload);
      paths[volume.name] = target.string();
    } catch (const volumes::VolumeError& e) {
      throw ContainerConfigError(prefix + e.what());
    } catch (const ContainerConfigError& e) {
      throw ContainerConfigError(prefix + e.what());
    }
  }
  return paths;
}

std::vector<cri::v1::Mount> VolumeManager::mountsFor(
    const corev1::Pod& pod, const corev1::Container& container,
    const std::map<std::string, std::string>& volumePaths, const EnvList& env) {
  std::vector<cri::v1::Mount> mounts;
  std::map<std::string, std::string> envMap(env.begin(), env.end());
  volumes::SubPathMounter subPaths(mounter_);
  int index = 0;
  for (const auto& vm : container.volumeMounts) {
    auto path = volumePaths.find(vm.name);
    if (path == volumePaths.end()) {
      throw ContainerConfigError("unable to find volume \"" + vm.name + "\" for container \"" +
                                 container.name + "\"");
    }
    std::string hostPath = path->second;
    std::string subPath = vm.subPath;
    if (!vm.subPathExpr.empty()) subPath = volumes::expandSubPathExpr(vm.subPathExpr, envMap);
    if (!subPath.empty()) {
      try {
        volumes::SubPathMount request;
        request.volumePath = hostPath;
        request.subPath = subPath;
        request.podDir = podDir(pod.metadata.uid).string();
        request.volumeName = vm.name;
        request.containerName = container.name;
        request.volumeMountIndex = index;
        hostPath = subPaths.prepare(request);
      } catch (const volumes::VolumeError& e) {
        throw ContainerConfigError("failed to prepare subPath for volumeMount \"" + vm.name +
                                   "\" of container \"" + container.name + "\": " + e.what());
      }
    }
    cri::v1::Mount mount;
    mount.set_container_path(vm.mountPath);
    mount.set_host_path(hostPath);
    mount.set_readonly(vm.readOnly);
    const std::string propagation = vm.mountPropagation.value_or("None");
    if (propagation == "HostToContainer") {
      mount.set_propagation(cri::v1::PROPAGATION_HOST_TO_CONTAINER);
    } else if (propagation == "Bidirectional") {
      mount.set_propagation(cri::v1::PROPAGATION_BIDIRECTIONAL);
    } else {
      mount.set_propagation(cri::v1::PROPAGATION_PRIVATE);
    }
    mounts.push_back(std::move(mount));
    ++index;
  }
  return mounts;
}

void VolumeManager::tearDown(const std::string& podUid) {
  const fs::path dir = podDir(podUid);
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  // Unmount everything under the pod directory, deepest first (subpath binds,
  // tmpfs emptyDirs), then remove the files.
  std::vector<std::string> mounted;
  for (const auto& m : mounter_.listMounts()) {
    if (m.mountPoint.starts_with(dir.string() + "/")) mounted.push_back(m.mountPoint);
  }
  std::sort(mounted.rbegin(), mounted.rend());
  for (const auto& target : mounted) {
    try {
      mounter_.unmount(target);
    } catch (const volumes::VolumeError& e) {
      spdlog::warn("pod {}: cannot unmount {}: {}", podUid, target, e.what());
    }
  }
  fs::remove_all(dir, ec);
  if (ec) spdlog::warn("pod {}: cannot remove {}: {}", podUid, dir.string(), ec.message());
}

std::vector<std::string> VolumeManager::emptyDirsOverLimit(const corev1::Pod& pod) const {
  std::vector<std::string> over;
  for (const auto& volume : pod.spec.volumes) {
    if (!volume.emptyDir || !volume.emptyDir->sizeLimit || volume.emptyDir->medium == "Memory") {
      continue;
    }
    const fs::path path = podDir(pod.metadata.uid) / "volumes" / kEmptyDirPlugin / volume.name;
    const auto used = volumes::usageBytes(path.string());
    if (static_cast<int64_t>(used) > volume.emptyDir->sizeLimit->value())
      over.push_back(volume.name);
  }
  return over;
}

}  // namespace kite::kubelet
