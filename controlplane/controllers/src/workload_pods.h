#pragma once
// Pod helpers the workload controllers share: which pods count, readiness and availability,
// the order in which surplus pods are deleted, pods made from a template, owner references,
// and expectations (creations and deletions issued but not yet seen by the informer).

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/api/meta/v1/types.h"

namespace kite::controlplane::controllers {

using Pod = api::core::v1::Pod;
using WallTime = std::chrono::system_clock::time_point;

// Phase Succeeded or Failed.
bool isPodTerminated(const Pod& pod);
// Not terminal (Succeeded/Failed) and not being deleted.
bool isPodActive(const Pod& pod);
// The Ready condition is True.
bool isPodReady(const Pod& pod);
// Ready for at least minReadySeconds at `now`.
bool isPodAvailable(const Pod& pod, int32_t minReadySeconds, WallTime now);
// When a ready but not yet available pod becomes available (for a requeue), or nullopt.
std::optional<WallTime> availableAt(const Pod& pod, int32_t minReadySeconds);

// Upstream's ActivePods ordering for deletion: unassigned before assigned, Pending before
// Unknown before Running, not ready before ready, ready for less time first, more restarts
// first, newer first. Returns the pods sorted so the first ones are deleted first.
std::vector<const Pod*> rankPodsForDeletion(std::vector<const Pod*> pods);

api::meta::v1::OwnerReference controllerRef(std::string_view apiVersion, std::string_view kind,
                                            const api::meta::v1::ObjectMeta& owner);
bool isControlledBy(const api::meta::v1::ObjectMeta& m, std::string_view ownerUid);

// A pod from a template: generateName "<prefix>-", the template's labels, annotations and
// spec, owned by `owner` as its controller.
Pod podFromTemplate(const api::core::v1::PodTemplateSpec& tmpl, std::string_view ns,
                    std::string_view generatePrefix, const api::meta::v1::OwnerReference& owner);

// Creations and deletions a controller issued for a key and has not observed yet; the
// controller does not act on a key until they are seen (or expire after five minutes), so it
// never creates twice while its informer catches up.
class Expectations {
 public:
  void expectCreations(const std::string& key, int n);
  void expectDeletions(const std::string& key, int n);
  void creationObserved(const std::string& key);
  void deletionObserved(const std::string& key);
  bool satisfied(const std::string& key) const;
  void forget(const std::string& key);

 private:
  struct Pending {
    int adds = 0;
    int dels = 0;
    std::chrono::steady_clock::time_point at;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Pending> pending_;
};

}  // namespace kite::controlplane::controllers
