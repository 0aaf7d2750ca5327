#include "kite/kubelet/api_config_source.h"

#include "kite/api/authentication/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/json.h"
#include "kite/client/errors.h"
#include "kite/kubelet/container_env.h"
#include "kite/kubelet/node_affinity.h"
#include "kite/volumes/host_path.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;
namespace authv1 = api::authentication::v1;

ApiConfigSource::ApiConfigSource(client::Client& client, const base::Clock& clock,
                                 const ServiceEnvSource* services, std::string nodeName,
                                 std::chrono::milliseconds ttl)
    : client_(client),
      clock_(clock),
      services_(services),
      nodeName_(std::move(nodeName)),
      ttl_(ttl) {}

template <class Fetch>
ApiConfigSource::Data ApiConfigSource::cached(const std::string& key, Fetch fetch) {
  {
    std::lock_guard lock(mutex_);
    const auto it = objects_.find(key);
    if (it != objects_.end() && clock_.now() - it->second.fetched < ttl_) return it->second.data;
  }
  Data data;
  try {
    data = fetch();
  } catch (const client::ApiError& e) {
    if (!e.isNotFound()) {
      throw ContainerConfigError(key + ": cannot read it from the API server: " + e.what());
    }
  } catch (const client::TransportError& e) {
    throw ContainerConfigError(key + ": cannot read it from the API server: " + e.what());
  }
  std::lock_guard lock(mutex_);
  ++fetches_;
  objects_[key] = {data, clock_.now()};
  return data;
}

std::optional<std::map<std::string, std::string>> ApiConfigSource::configMap(
    const std::string& ns, const std::string& name) {
  return cached("configmap " + ns + "/" + name, [&]() -> Data {
    auto object = client_.get<corev1::ConfigMap>(ns, name);
    auto data = std::move(object.data);
    for (auto& [key, value] : object.binaryData) data[key] = std::move(value);
    return data;
  });
}

std::optional<std::map<std::string, std::string>> ApiConfigSource::secret(const std::string& ns,
                                                                          const std::string& name) {
  return cached("secret " + ns + "/" + name,
                [&]() -> Data { return client_.get<corev1::Secret>(ns, name).data; });
}

std::optional<std::string> ApiConfigSource::serviceAccountToken(const TokenRequest& request) {
  const std::string key = request.ns + "/" + request.serviceAccountName + "/" + request.podUid +
                          "/" + request.audience + "/" + std::to_string(request.expirationSeconds);
  {
    std::lock_guard lock(mutex_);
    const auto it = tokens_.find(key);
    if (it != tokens_.end() && clock_.now() < it->second.refreshAt) return it->second.token;
  }
  authv1::TokenRequest body;
  body.apiVersion = authv1::TokenRequest::kApiVersion;
  body.kind = authv1::TokenRequest::kKind;
  if (!request.audience.empty()) body.spec.audiences.push_back(request.audience);
  body.spec.expirationSeconds = request.expirationSeconds;
  body.spec.boundObjectRef.emplace();
  body.spec.boundObjectRef->apiVersion = "v1";
  body.spec.boundObjectRef->kind = "Pod";
  body.spec.boundObjectRef->name = request.podName;
  body.spec.boundObjectRef->uid = request.podUid;
  const auto& ref = client::resourceOf<corev1::ServiceAccount>();
  authv1::TokenRequest issued;
  try {
    issued = client::Client::decodeObject<authv1::TokenRequest>(client_.call(
        "POST", ref.path(request.ns, request.serviceAccountName, "token"), api::encodeJson(body)));
  } catch (const std::exception& e) {
    throw ContainerConfigError("failed to fetch token for service account \"" +
                               request.serviceAccountName + "\": " + e.what());
  }
  // Renew at 80% of the token's life (the server may have shortened it), at least once a day.
  std::chrono::milliseconds life = std::chrono::seconds(request.expirationSeconds);
  if (!issued.status.expirationTimestamp.isZero()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        issued.status.expirationTimestamp.timePoint() - std::chrono::system_clock::now());
    if (left.count() > 0) life = std::min(life, left);
  }
  const auto refreshIn = std::min<std::chrono::milliseconds>(life * 8 / 10, std::chrono::hours(24));
  std::lock_guard lock(mutex_);
  ++fetches_;
  tokens_[key] = {request.podUid, issued.status.token, clock_.now() + refreshIn};
  return issued.status.token;
}

std::vector<std::pair<std::string, std::string>> ApiConfigSource::serviceEnv(
    const std::string& ns, bool enableServiceLinks) {
  if (services_ == nullptr) return {};
  return services_->forPod(ns, enableServiceLinks);
}

std::optional<std::string> ApiConfigSource::claimPath(const std::string& ns,
                                                      const std::string& claimName) {
  try {
    const auto claim = client_.get<corev1::PersistentVolumeClaim>(ns, claimName);
    if (claim.spec.volumeName.empty() || claim.status.phase != "Bound") {
      throw ContainerConfigError("PVC " + ns + "/" + claimName + " has non-bound phase (\"" +
                                 claim.status.phase + "\") or empty pvc.Spec.VolumeName (\"" +
                                 claim.spec.volumeName + "\")");
    }
    const auto volume = client_.get<corev1::PersistentVolume>("", claim.spec.volumeName);
    const std::string& pv = volume.metadata.name;
    if (volume.spec.nodeAffinity && volume.spec.nodeAffinity->required) {
      const auto node = client_.get<corev1::Node>("", nodeName_);
      if (!nodeSelectorMatches(*volume.spec.nodeAffinity->required, node.metadata.labels,
                               nodeName_)) {
        throw ContainerConfigError("volume \"" + pv + "\" has a node affinity that node \"" +
                                   nodeName_ + "\" does not match");
      }
    }
    if (volume.spec.local) return volume.spec.local->path;
    // A hostPath volume keeps its type's meaning: the local-path provisioner's volumes are
    // DirectoryOrCreate, made on the node when the first pod mounts them.
    if (volume.spec.hostPath) {
      return volumes::checkHostPath(volume.spec.hostPath->path,
                                    volume.spec.hostPath->type.value_or(""));
    }
    throw ContainerConfigError("volume \"" + pv +
                               "\" is of a type kite cannot mount (local and hostPath are)");
  } catch (const client::ApiError& e) {
    throw ContainerConfigError(e.isNotFound() ? std::string(e.what())
                                              : "cannot read claim \"" + claimName +
                                                    "\" from the API server: " + e.what());
  } catch (const client::TransportError& e) {
    throw ContainerConfigError("cannot read claim \"" + claimName +
                               "\" from the API server: " + e.what());
  }
}

void ApiConfigSource::forgetPod(const std::string& podUid) {
  std::lock_guard lock(mutex_);
  std::erase_if(tokens_, [&](const auto& entry) { return entry.second.podUid == podUid; });
}

std::size_t ApiConfigSource::fetches() const {
  std::lock_guard lock(mutex_);
  return fetches_;
}

}  // namespace kite::kubelet
