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
// Go's %q of a string: quoted, with \\, \" and control bytes escaped.
std::string goQuote(const std::string& value) {
  std::string out = "\"";
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\r':
        out.append("\\r");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static constexpr const char* kHex = "0123456789abcdef";
          out.append("\\x");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
  return out;
}

// A downwardAPI volume file may hold all labels or annotations: one
// key="value" line per entry, sorted by key, as upstream formats them.
std::string downwardFieldValue(const corev1::Pod& pod, const std::string& fieldPath,
                               const PodRuntimeFacts& facts) {
  if (fieldPath == "metadata.labels" || fieldPath == "metadata.annotations") {
    const auto& map =
        fieldPath == "metadata.labels" ? pod.metadata.labels : pod.metadata.annotations;
    const std::map<std::string, std::string> sorted(map.begin(), map.end());
    std::string out;
    for (const auto& [key, value] : sorted) {
      if (!out.empty()) out.push_back('\n');
      out.append(key).append("=").append(goQuote(value));
    }
    return out;
  }
  return podFieldValue(pod, fieldPath, facts);
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
      if (volume.configMap) {
        const auto& src = *volume.configMap;
        payload = configPayload(ns, Kind::kConfigMap, src.name, src.items,
                                src.optional.value_or(false), modeOr(src.defaultMode, 0644));
      } else if (volume.secret) {
        const auto& src = *volume.secret;
        payload = configPayload(ns, Kind::kSecret, src.secretName, src.items,
                                src.optional.value_or(false), modeOr(src.defaultMode, 0644));
      } else if (volume.downwardAPI) {
        payload = downwardPayload(pod, volume.downwardAPI->items,
                                  modeOr(volume.downwardAPI->defaultMode, 0644), facts);
      } else if (volume.projected) {
        payload = projectedPayload(pod, *volume.projected, facts);
      } else if (volume.persistentVolumeClaim) {
        const std::string& claim = volume.persistentVolumeClaim->claimName;
        const auto path = config_.claimPath(ns, claim);
        if (!path) {
          throw ContainerConfigError("persistentVolumeClaim \"" + claim +
                                     "\" needs an API server to look up its volume");
        }
        if (!fs::is_directory(*path)) {
          throw ContainerConfigError("path \"" + *path + "\" of the volume of claim \"" + claim +
                                     "\" does not exist on the node");
        }
        paths[volume.name] = *path;
        continue;
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

volumes::Payload VolumeManager::configPayload(const std::string& ns, Kind kind,
                                              const std::string& name,
                                              const std::vector<corev1::KeyToPath>& items,
                                              bool optional, uint32_t defaultMode) {
  const bool isConfigMap = kind == Kind::kConfigMap;
  auto data = isConfigMap ? config_.configMap(ns, name) : config_.secret(ns, name);
  if (!data && !optional) {
    throw ContainerConfigError(std::string(isConfigMap ? "configmap" : "secret") + " \"" + name +
                               "\" not found");
  }
  return volumes::makePayload(
      data.value_or(std::map<std::string, std::string>{}), keyToPaths(items), defaultMode, optional,
      isConfigMap ? volumes::PayloadSource::kConfigMap : volumes::PayloadSource::kSecret);
}

volumes::Payload VolumeManager::downwardPayload(
    const corev1::Pod& pod, const std::vector<corev1::DownwardAPIVolumeFile>& items,
    uint32_t defaultMode, const PodRuntimeFacts& facts) {
  volumes::Payload payload;
  for (const auto& item : items) {
    volumes::FileProjection file;
    if (item.fieldRef) {
      file.data = downwardFieldValue(pod, item.fieldRef->fieldPath, facts);
    } else if (item.resourceFieldRef) {
      if (item.resourceFieldRef->containerName.empty()) {
        throw ContainerConfigError("downwardAPI item \"" + item.path +
                                   "\": resourceFieldRef needs a containerName in a volume");
      }
      file.data = resourceFieldValue(pod, nullptr, *item.resourceFieldRef, facts);
    } else {
      throw ContainerConfigError("downwardAPI item \"" + item.path +
                                 "\" has neither fieldRef nor resourceFieldRef");
    }
    file.mode = modeOr(item.mode, defaultMode);
    payload[item.path] = std::move(file);
  }
  return payload;
}

volumes::Payload VolumeManager::projectedPayload(const corev1::Pod& pod,
                                                 const corev1::ProjectedVolumeSource& projected,
                                                 const PodRuntimeFacts& facts) {
  const std::string& ns = pod.metadata.namespace_;
  const uint32_t mode = modeOr(projected.defaultMode, 0644);
  volumes::Payload payload;
  // Sources are merged in order; a later source's file wins a path, as upstream.
  auto merge = [&payload](volumes::Payload&& part) {
    for (auto& [path, file] : part) payload[path] = std::move(file);
  };
  for (std::size_t i = 0; i < projected.sources.size(); ++i) {
    const auto& source = projected.sources[i];
    if (source.configMap) {
      merge(configPayload(ns, Kind::kConfigMap, source.configMap->name, source.configMap->items,
                          source.configMap->optional.value_or(false), mode));
    } else if (source.secret) {
      merge(configPayload(ns, Kind::kSecret, source.secret->name, source.secret->items,
                          source.secret->optional.value_or(false), mode));
    } else if (source.downwardAPI) {
      merge(downwardPayload(pod, source.downwardAPI->items, mode, facts));
    } else if (source.serviceAccountToken) {
      const auto& token = *source.serviceAccountToken;
      ConfigSource::TokenRequest request;
      request.ns = ns;
      request.serviceAccountName =
          pod.spec.serviceAccountName.empty() ? "default" : pod.spec.serviceAccountName;
      request.podName = pod.metadata.name;
      request.podUid = pod.metadata.uid;
      request.audience = token.audience;
      request.expirationSeconds = token.expirationSeconds.value_or(3600);
      auto value = config_.serviceAccountToken(request);
      if (!value) {
        throw ContainerConfigError("failed to fetch token for service account \"" +
                                   request.serviceAccountName + "\": no token source " +
                                   "(a static pod has no API server to issue one)");
      }
      volumes::FileProjection file;
      file.data = std::move(*value);
      file.mode = mode;
      payload[token.path] = std::move(file);
    } else {
      throw ContainerConfigError("projected source " + std::to_string(i) +
                                 " is of a kind kite does not support");
    }
  }
  return payload;
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
