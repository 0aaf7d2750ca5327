#include "local_path_helper.h"

#include <filesystem>

namespace kite::controlplane::controllers {

namespace corev1 = api::core::v1;

std::string localPathDeletePodName(const std::string& volumeName) {
  return "helper-pod-delete-" + volumeName;
}

std::string localPathVolumeHostname(const corev1::PersistentVolume& volume) {
  if (!volume.spec.nodeAffinity || !volume.spec.nodeAffinity->required) return "";
  for (const auto& term : volume.spec.nodeAffinity->required->nodeSelectorTerms) {
    for (const auto& requirement : term.matchExpressions) {
      if (requirement.key == "kubernetes.io/hostname" && requirement.operator_ == "In" &&
          requirement.values.size() == 1) {
        return requirement.values.front();
      }
    }
  }
  return "";
}

std::optional<corev1::Pod> localPathDeletePod(const corev1::PersistentVolume& volume,
                                              const std::string& nodeName,
                                              const std::string& image) {
  if (!volume.spec.hostPath) return std::nullopt;
  const std::filesystem::path path(volume.spec.hostPath->path);
  const std::string directory = path.filename().string();
  // Only "<folder>/pvc-..." with an absolute, normal folder: never "/", "..", or a nested path.
  if (!path.is_absolute() || path.string() != path.lexically_normal().string() ||
      !directory.starts_with("pvc-") || path.parent_path() == path.root_path()) {
    return std::nullopt;
  }
  corev1::Pod pod;
  pod.metadata.name = localPathDeletePodName(volume.metadata.name);
  pod.metadata.namespace_ = kLocalPathHelperNamespace;
  pod.metadata.labels[kLocalPathHelperLabel] = "delete";
  pod.spec.nodeName = nodeName;  // bypasses the scheduler: the data is on that node
  pod.spec.restartPolicy = "Never";
  pod.spec.terminationGracePeriodSeconds = 1;
  corev1::Toleration anyTaint;  // the node may be cordoned or tainted; the data still goes
  anyTaint.operator_ = "Exists";
  pod.spec.tolerations = {anyTaint};
  corev1::Volume storage;
  storage.name = "data";
  storage.hostPath.emplace();
  storage.hostPath->path = path.parent_path().string();
  storage.hostPath->type = "DirectoryOrCreate";
  pod.spec.volumes = {storage};
  corev1::Container helper;
  helper.name = "helper-pod";
  helper.image = image;
  helper.imagePullPolicy = "IfNotPresent";
  helper.command = {"rm", "-rf", "/data/" + directory};
  corev1::VolumeMount mount;
  mount.name = "data";
  mount.mountPath = "/data";
  helper.volumeMounts = {mount};
  pod.spec.containers = {helper};
  return pod;
}

}  // namespace kite::controlplane::controllers
