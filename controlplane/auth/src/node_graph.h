#pragma once
// What each node may reach through its pods, after upstream's node authorizer graph: the
// pods bound to a node (spec.nodeName) and the secrets, configmaps, persistent volume claims
// and service account they reference, and the persistent volumes those claims are bound to.
// Fed from the Store by list-then-watch, like the RBAC cache.

#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kite/controlplane/store.h"
#include "store_informer.h"

namespace kite::controlplane {

class NodeGraph {
 public:
  explicit NodeGraph(Store& store);

  // Whether pod ns/name exists and is bound to the node.
  bool podOnNode(std::string_view node, std::string_view ns, std::string_view name) const;
  // Whether a pod bound to the node references the object: resource is "secrets",
  // "configmaps", "persistentvolumeclaims", "serviceaccounts" (namespaced) or
  // "persistentvolumes" (ns empty; reached through a bound claim).
  bool references(std::string_view node, std::string_view resource, std::string_view ns,
                  std::string_view name) const;

 private:
  struct PodRefs {
    std::string node;
    std::string ns;
    std::string serviceAccount;
    std::set<std::string, std::less<>> secrets;
    std::set<std::string, std::less<>> configMaps;
    std::set<std::string, std::less<>> claims;
  };

  void replacePods(const std::vector<KeyValue>& items);
  void applyPods(const std::vector<WatchEvent>& events);
  void putPod(const KeyValue& kv);
  void removePod(std::string_view key);
  void replaceClaims(const std::vector<KeyValue>& items);
  void applyClaims(const std::vector<WatchEvent>& events);
  void putClaim(const KeyValue& kv);

  mutable std::shared_mutex mutex_;
  std::map<std::string, PodRefs, std::less<>> pods_;  // by store key
  std::map<std::string, std::set<std::string>, std::less<>> podsByNode_;
  std::map<std::string, std::string, std::less<>> claimVolumes_;  // "ns/claim" -> volume name
  std::unique_ptr<auth::StoreInformer> podInformer_;
  std::unique_ptr<auth::StoreInformer> claimInformer_;
};

}  // namespace kite::controlplane
