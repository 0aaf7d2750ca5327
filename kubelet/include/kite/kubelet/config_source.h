#pragma once
// Where the kubelet finds ConfigMaps and Secrets that pods reference (env,
// envFrom, volumes). Static pods have none (every lookup is "not found"); the
// API-driven kubelet answers from its informers.

#include <map>
#include <optional>
#include <string>

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
