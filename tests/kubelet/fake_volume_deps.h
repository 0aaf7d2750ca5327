#pragma once
// Stand-ins for what VolumeManager depends on, for kubelet unit tests: a
// mounter that expects no mount (the volume kinds these tests use only write
// files) and a ConfigSource backed by maps.

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "kite/kubelet/config_source.h"
#include "kite/volumes/mounter.h"

namespace kite::kubelet::testing {

class NoMounts final : public volumes::Mounter {
 public:
  void mount(const std::string& source, const std::string& target, const std::string& /*fsType*/,
             const std::vector<std::string>& /*options*/) override {
    throw std::logic_error("unexpected mount of " + source + " on " + target);
  }
  void unmount(const std::string& target) override {
    throw std::logic_error("unexpected unmount of " + target);
  }
  std::vector<volumes::MountInfo> listMounts() override { return {}; }
  bool isMountPoint(const std::string& /*path*/) override { return false; }
};

class MapConfigSource final : public ConfigSource {
 public:
  std::map<std::string, std::map<std::string, std::string>> configMaps;  // by "ns/name"
  std::map<std::string, std::map<std::string, std::string>> secrets;
  std::optional<std::string> token;
  std::vector<TokenRequest> tokenRequests;

  std::optional<std::map<std::string, std::string>> configMap(const std::string& ns,
                                                              const std::string& name) override {
    return find(configMaps, ns, name);
  }
  std::optional<std::map<std::string, std::string>> secret(const std::string& ns,
                                                           const std::string& name) override {
    return find(secrets, ns, name);
  }
  std::optional<std::string> serviceAccountToken(const TokenRequest& request) override {
    tokenRequests.push_back(request);
    return token;
  }

 private:
  static std::optional<std::map<std::string, std::string>> find(
      const std::map<std::string, std::map<std::string, std::string>>& all, const std::string& ns,
      const std::string& name) {
    auto it = all.find(ns + "/" + name);
    if (it == all.end()) return std::nullopt;
    return it->second;
  }
};

}  // namespace kite::kubelet::testing
