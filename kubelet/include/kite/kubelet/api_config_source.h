#pragma once
// ConfigMaps, Secrets and service account tokens for API pods, read from the
// API server. ConfigMaps and Secrets are fetched with a GET and kept for a
// short time (upstream's TTL cache manager): every pod sync asks again, so a
// changed ConfigMap reaches env of new containers and the files of configMap
// volumes within the TTL plus one resync. Tokens come from the TokenRequest
// API (serviceaccounts/<name>/token) bound to the pod, and are requested anew
// once 80% of their life has passed (or after 24 hours), as upstream's token
// manager does.

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "kite/base/clock.h"
#include "kite/client/client.h"
#include "kite/kubelet/config_source.h"
#include "kite/kubelet/service_env.h"

namespace kite::kubelet {

class ApiConfigSource final : public ConfigSource {
 public:
  // services: where the Service environment variables come from (may be null: none);
  // nodeName: the node whose labels PersistentVolumes' nodeAffinity must match.
  ApiConfigSource(client::Client& client, const base::Clock& clock,
                  const ServiceEnvSource* services, std::string nodeName = {},
                  std::chrono::milliseconds ttl = std::chrono::seconds(5));

  std::optional<std::map<std::string, std::string>> configMap(const std::string& ns,
                                                              const std::string& name) override;
  std::optional<std::map<std::string, std::string>> secret(const std::string& ns,
                                                           const std::string& name) override;
  std::optional<std::string> serviceAccountToken(const TokenRequest& request) override;
  std::vector<std::pair<std::string, std::string>> serviceEnv(const std::string& ns,
                                                              bool enableServiceLinks) override;
  std::optional<std::string> claimPath(const std::string& ns,
                                       const std::string& claimName) override;
  // Drops the tokens of a pod that is gone.
  void forgetPod(const std::string& podUid);

  // How many requests reached the API server (tests).
  std::size_t fetches() const;

 private:
  using Data = std::optional<std::map<std::string, std::string>>;
  struct Cached {
    Data data;
    base::Clock::Monotonic fetched;
  };
  struct Token {
    std::string podUid;
    std::string token;
    base::Clock::Monotonic refreshAt;
  };
  template <class Fetch>
  Data cached(const std::string& key, Fetch fetch);

  client::Client& client_;
  const base::Clock& clock_;
  const ServiceEnvSource* services_;
  std::string nodeName_;
  std::chrono::milliseconds ttl_;
  mutable std::mutex mutex_;
  std::map<std::string, Cached> objects_;  // "configmap/ns/name", "secret/ns/name"
  std::map<std::string, Token> tokens_;    // by request
  std::size_t fetches_ = 0;
};

}  // namespace kite::kubelet
