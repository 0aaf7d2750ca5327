#pragma once
// Where the kubelet finds ConfigMaps and Secrets that pods reference (env,
// envFrom, volumes) and the service account tokens of projected volumes.
// Static pods have none (every lookup is "not found"); the API-driven kubelet
// answers from the API server (GETs with a short cache, the TokenRequest API
// and a Services informer).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kite::kubelet {

class ConfigSource {
 public:
  virtual ~ConfigSource() = default;
  // Data of the ConfigMap (data and binaryData), nullopt if it does not exist.
  virtual std::optional<std::map<std::string, std::string>> configMap(const std::string& ns,
                                                                      const std::string& name) = 0;
  // Decoded data of the Secret, nullopt if it does not exist.
  virtual std::optional<std::map<std::string, std::string>> secret(const std::string& ns,
                                                                   const std::string& name) = 0;

  // What a projected serviceAccountToken source asks for: a token bound to
  // the pod, as the TokenRequest API (serviceaccounts/<name>/token) issues it.
  struct TokenRequest {
    std::string ns;
    std::string serviceAccountName;
    std::string podName;
    std::string podUid;
    std::string audience;  // empty: the API server's own audience
    int64_t expirationSeconds = 3600;
  };
  // The token, nullopt when none can be issued (no API server). Not pure, so
  // that sources with no API behind them need not spell it out.
  virtual std::optional<std::string> serviceAccountToken(const TokenRequest& /*request*/) {
    return std::nullopt;
  }

  // The host path of the PersistentVolume bound to a claim (a local or hostPath volume whose
  // nodeAffinity matches this node); nullopt without an API server. Throws with a message for
  // the FailedMount event otherwise.
  virtual std::optional<std::string> claimPath(const std::string& /*ns*/,
                                               const std::string& /*claimName*/) {
    return std::nullopt;
  }

  // The Service environment variables of a pod in namespace ns (service_env.h), in order.
  // None without an API server.
  virtual std::vector<std::pair<std::string, std::string>> serviceEnv(const std::string& /*ns*/,
                                                                      bool /*enableServiceLinks*/) {
    return {};
  }
};

// For static pods, before any API server: nothing exists.
class NoConfigSource final : public ConfigSource {
 public:
  std::optional<std::map<std::string, std::string>> configMap(const std::string&,
                                                              const std::string&) override {
    return std::nullopt;
  }
  std::optional<std::map<std::string, std::string>> secret(const std::string&,
                                                           const std::string&) override {
    return std::nullopt;
  }
};

}  // namespace kite::kubelet
