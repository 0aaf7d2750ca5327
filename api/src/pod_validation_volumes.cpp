// spec.volumes as upstream validates them: DNS-label names, unique; exactly one source, each
// source's required fields, file modes, and item paths that stay inside the volume.
#include <algorithm>
#include <cctype>
#include <set>

#include "pod_validation_formats.h"
#include "pod_validation_parts.h"

namespace kite::api::podvalidation {

namespace corev1 = core::v1;

namespace {

const char* const kFileModeError = "must be a number between 0 and 0777 (octal), both inclusive";

bool rawSet(const RawJson& raw) { return !raw.empty() && raw.text() != "null"; }

void checkMode(const std::optional<int32_t>& mode, const std::string& path, Errors& errors) {
  if (mode && (*mode < 0 || *mode > 0777)) {
    errors.push_back(FieldError::invalid(path, *mode, kFileModeError));
  }
}

// Not absolute and no ".." element (upstream's validateLocalDescendingPath).
void checkDescendingPath(const std::string& value, const std::string& path, Errors& errors) {
  if (value.starts_with("/")) {
    errors.push_back(FieldError::invalid(path, value, "must be a relative path"));
  }
  if (hasBacksteps(value)) {
    errors.push_back(FieldError::invalid(path, value, "must not contain '..'"));
  }
}

// As above and not starting with ".." (ValidateLocalNonReservedPath): a file name such as
// "..data" would collide with the atomic writer's own links.
void checkNonReservedPath(const std::string& value, const std::string& path, Errors& errors) {
  checkDescendingPath(value, path, errors);
  if (value.starts_with("..") && !value.starts_with("../")) {
    errors.push_back(FieldError::invalid(path, value, "must not start with '..'"));
  }
}

void checkKeyToPath(const corev1::KeyToPath& item, const std::string& path, Errors& errors) {
  if (item.key.empty()) errors.push_back(FieldError::required(child(path, "key")));
  if (item.path.empty()) errors.push_back(FieldError::required(child(path, "path")));
  checkNonReservedPath(item.path, child(path, "path"), errors);
  checkMode(item.mode, child(path, "mode"), errors);
}

// Upstream reports the items of a downwardAPI source at the source's own path (no index).
void checkDownwardFile(const corev1::DownwardAPIVolumeFile& file, const std::string& path,
                       Errors& errors) {
  if (file.path.empty()) errors.push_back(FieldError::required(child(path, "path")));
  checkNonReservedPath(file.path, child(path, "path"), errors);
  if (file.fieldRef) {
    validateObjectFieldSelector(*file.fieldRef, true, child(path, "fieldRef"), errors);
    if (file.resourceFieldRef) {
      errors.push_back(FieldError::invalid(
          path, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"));
    }
  } else if (file.resourceFieldRef) {
    validateResourceFieldSelector(*file.resourceFieldRef, true, child(path, "resourceFieldRef"),
                                  errors);
  } else {
    errors.push_back(
        FieldError::required(path, "one of fieldRef and resourceFieldRef is required"));
  }
  checkMode(file.mode, child(path, "mode"), errors);
}

void checkHostPath(const corev1::HostPathVolumeSource& hp, const std::string& path,
                   Errors& errors) {
  if (hp.path.empty()) {
    errors.push_back(FieldError::required(child(path, "path")));
    return;
  }
  // As upstream: any path without a ".." element, relative ones included.
  if (hasBacksteps(hp.path)) {
    errors.push_back(FieldError::invalid(child(path, "path"), hp.path, "must not contain '..'"));
  }
  static const std::vector<std::string> kTypes = {
      "",     "BlockDevice",  "CharDevice", "Directory", "DirectoryOrCreate",
      "File", "FileOrCreate", "Socket"};
  if (hp.type && std::find(kTypes.begin(), kTypes.end(), *hp.type) == kTypes.end()) {
    errors.push_back(FieldError::notSupported(child(path, "type"), *hp.type, kTypes));
  }
}

void checkEmptyDir(const corev1::EmptyDirVolumeSource& ed, const std::string& path,
                   Errors& errors) {
  if (ed.sizeLimit && ed.sizeLimit->sign() < 0) {
    errors.push_back(FieldError::forbidden(child(path, "sizeLimit"),
                                           "SizeLimit field must be a valid resource quantity"));
  }
  // The medium is not validated, as upstream: the kubelet refuses one it does not know when
  // it mounts the volume (volumes::parseStorageMedium).
}

void checkSecret(const corev1::SecretVolumeSource& s, const std::string& path, Errors& errors) {
  if (s.secretName.empty()) errors.push_back(FieldError::required(child(path, "secretName")));
  checkMode(s.defaultMode, child(path, "defaultMode"), errors);
  for (std::size_t i = 0; i < s.items.size(); ++i) {
    checkKeyToPath(s.items[i], index(child(path, "items"), i), errors);
  }
}

void checkConfigMap(const corev1::ConfigMapVolumeSource& c, const std::string& path,
                    Errors& errors) {
  if (c.name.empty()) errors.push_back(FieldError::required(child(path, "name")));
  checkMode(c.defaultMode, child(path, "defaultMode"), errors);
  for (std::size_t i = 0; i < c.items.size(); ++i) {
    checkKeyToPath(c.items[i], index(child(path, "items"), i), errors);
  }
}

void checkDownwardAPI(const corev1::DownwardAPIVolumeSource& d, const std::string& path,
                      Errors& errors) {
  checkMode(d.defaultMode, child(path, "defaultMode"), errors);
  for (const auto& file : d.items) checkDownwardFile(file, path, errors);
}

// Projected sources share one directory, so their paths must not collide.
void checkProjected(const corev1::ProjectedVolumeSource& p, const std::string& path,
                    Errors& errors) {
  checkMode(p.defaultMode, child(path, "defaultMode"), errors);
  std::set<std::string> paths;
  auto claimPath = [&](const std::string& file, std::string_view value) {
    if (file.empty()) return;
    if (!paths.insert(file).second) {
      errors.push_back(FieldError::invalid(path, value, "conflicting duplicate paths"));
    }
  };
  for (std::size_t i = 0; i < p.sources.size(); ++i) {
    const auto& source = p.sources[i];
    const std::string srcPath = index(child(path, "sources"), i);
    int count = 0;
    if (source.secret) {
      ++count;
      const std::string sp = child(srcPath, "secret");
      if (source.secret->name.empty()) errors.push_back(FieldError::required(child(sp, "name")));
      for (std::size_t k = 0; k < source.secret->items.size(); ++k) {
        checkKeyToPath(source.secret->items[k], index(child(sp, "items"), k), errors);
        claimPath(source.secret->items[k].path, source.secret->name);
      }
    }
    if (source.configMap) {
      ++count;
      const std::string cp = child(srcPath, "configMap");
      if (source.configMap->name.empty()) errors.push_back(FieldError::required(child(cp, "name")));
      for (std::size_t k = 0; k < source.configMap->items.size(); ++k) {
        checkKeyToPath(source.configMap->items[k], index(child(cp, "items"), k), errors);
        claimPath(source.configMap->items[k].path, source.configMap->name);
      }
    }
    if (source.downwardAPI) {
      ++count;
      for (const auto& file : source.downwardAPI->items) {
        checkDownwardFile(file, child(srcPath, "downwardAPI"), errors);
        claimPath(file.path, file.path);
      }
    }
    if (source.serviceAccountToken) {
      ++count;
      const auto& t = *source.serviceAccountToken;
      const std::string tp = child(srcPath, "serviceAccountToken");
      const int64_t expiration = t.expirationSeconds.value_or(3600);  // upstream's default
      if (expiration < 600) {
        errors.push_back(FieldError::invalid(child(tp, "expirationSeconds"), expiration,
                                             "may not specify a duration less than 10 minutes"));
      }
      if (expiration > (int64_t{1} << 32)) {
        errors.push_back(
            FieldError::invalid(child(tp, "expirationSeconds"), expiration,
                                "may not specify a duration larger than 2^32 seconds"));
      }
      // Upstream names the projected volume's path here, not the token's.
      if (t.path.empty()) {
        errors.push_back(FieldError::required(child(path, "path")));
      } else {
        checkNonReservedPath(t.path, child(path, "path"), errors);
      }
    }
    if (source.clusterTrustBundle) {
      ++count;
      if (source.clusterTrustBundle->path.empty()) {
        errors.push_back(FieldError::required(child(child(srcPath, "clusterTrustBundle"), "path")));
      }
    }
    if (rawSet(source.podCertificate)) ++count;
    if (count > 1) {
      errors.push_back(
          FieldError::forbidden(srcPath, "may not specify more than 1 volume type per source"));
    }
  }
}

void checkCsi(const corev1::CSIVolumeSource& c, const std::string& path, Errors& errors) {
  const std::string dp = child(path, "driver");
  if (c.driver.empty()) errors.push_back(FieldError::required(dp));
  if (c.driver.size() > 63) errors.push_back(FieldError::tooLong(dp, 63));
  std::string lower = c.driver;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  for (auto& m : dnsSubdomainErrors(lower)) {
    errors.push_back(FieldError::invalid(dp, c.driver, std::move(m)));
  }
  if (c.nodePublishSecretRef && c.nodePublishSecretRef->name.empty()) {
    errors.push_back(FieldError::required(child(child(path, "nodePublishSecretRef"), "name")));
  }
}

// Counts the sources in upstream's order; the second and later are refused at their own
// field. The field names below are upstream's, including its spelling of two of them.
void checkSource(const corev1::Volume& v, const std::string& path, Errors& errors) {
  int count = 0;
  auto take = [&](bool present, std::string_view name) {
    if (!present) return false;
    if (count > 0) {
      errors.push_back(
          FieldError::forbidden(child(path, name), "may not specify more than 1 volume type"));
      return false;
    }
    ++count;
    return true;
  };
  if (v.emptyDir) {
    ++count;  // first in the order: never refused
    checkEmptyDir(*v.emptyDir, child(path, "emptyDir"), errors);
  }
  if (take(v.hostPath.has_value(), "hostPath"))
    checkHostPath(*v.hostPath, child(path, "hostPath"), errors);
  take(rawSet(v.gitRepo), "gitRepo");
  take(rawSet(v.gcePersistentDisk), "gcePersistentDisk");
  take(rawSet(v.awsElasticBlockStore), "awsElasticBlockStore");
  if (take(v.secret.has_value(), "secret")) checkSecret(*v.secret, child(path, "secret"), errors);
  if (take(v.nfs.has_value(), "nfs")) {
    const std::string np = child(path, "nfs");
    if (v.nfs->server.empty()) errors.push_back(FieldError::required(child(np, "server")));
    if (v.nfs->path.empty()) errors.push_back(FieldError::required(child(np, "path")));
    if (!v.nfs->path.starts_with("/")) {
      errors.push_back(
          FieldError::invalid(child(np, "path"), v.nfs->path, "must be an absolute path"));
    }
  }
  take(rawSet(v.iscsi), "iscsi");
  take(rawSet(v.glusterfs), "glusterfs");
  take(rawSet(v.flocker), "flocker");
  if (take(v.persistentVolumeClaim.has_value(), "persistentVolumeClaim") &&
      v.persistentVolumeClaim->claimName.empty()) {
    errors.push_back(
        FieldError::required(child(child(path, "persistentVolumeClaim"), "claimName")));
  }
  take(rawSet(v.rbd), "rbd");
  take(rawSet(v.cinder), "cinder");
  take(rawSet(v.cephfs), "cephFS");
  take(rawSet(v.quobyte), "quobyte");
  if (take(v.downwardAPI.has_value(), "downwarAPI")) {
    checkDownwardAPI(*v.downwardAPI, child(path, "downwardAPI"), errors);
  }
  take(rawSet(v.fc), "fc");
  take(rawSet(v.flexVolume), "flexVolume");
  if (take(v.configMap.has_value(), "configMap")) {
    checkConfigMap(*v.configMap, child(path, "configMap"), errors);
  }
  take(rawSet(v.azureFile), "azureFile");
  take(rawSet(v.vsphereVolume), "vsphereVolume");
  take(rawSet(v.photonPersistentDisk), "photonPersistentDisk");
  take(rawSet(v.portworxVolume), "portworxVolume");
  take(rawSet(v.azureDisk), "azureDisk");
  take(rawSet(v.storageos), "storageos");
  if (take(v.projected.has_value(), "projected")) {
    checkProjected(*v.projected, child(path, "projected"), errors);
  }
  take(rawSet(v.scaleIO), "scaleIO");
  if (take(v.csi.has_value(), "csi")) checkCsi(*v.csi, child(path, "csi"), errors);
  if (take(v.ephemeral.has_value(), "ephemeral") && !v.ephemeral->volumeClaimTemplate) {
    errors.push_back(FieldError::required(child(child(path, "ephemeral"), "volumeClaimTemplate")));
  }
  take(v.image.has_value(), "image");
  if (count == 0) errors.push_back(FieldError::required(path, "must specify a volume type"));
}

}  // namespace

VolumeMap validateVolumes(const std::vector<corev1::Volume>& volumes, const std::string& path,
                          Errors& errors) {
  VolumeMap valid;
  std::set<std::string> names;
  for (std::size_t i = 0; i < volumes.size(); ++i) {
    const auto& v = volumes[i];
    const std::string idx = index(path, i);
    const std::string namePath = child(idx, "name");
    Errors own;
    checkSource(v, idx, own);
    if (v.name.empty()) {
      own.push_back(FieldError::required(namePath));
    } else {
      for (auto& m : dnsLabelErrors(v.name)) {
        own.push_back(FieldError::invalid(namePath, v.name, std::move(m)));
      }
    }
    if (names.contains(v.name)) own.push_back(FieldError::duplicate(namePath, v.name));
    if (own.empty()) {
      names.insert(v.name);
      valid[v.name] = &v;
    } else {
      errors.insert(errors.end(), own.begin(), own.end());
    }
  }
  return valid;
}

}  // namespace kite::api::podvalidation
