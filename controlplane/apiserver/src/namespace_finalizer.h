#pragma once
// Finishes the deletion of Terminating namespaces, as upstream's namespace controller does:
// deletes every object in the namespace (pods on a node gracefully: their kubelet removes
// them), and once nothing is left removes the "kubernetes" finalizer from spec.finalizers,
// which lets the namespace go. Runs in the API server until kite's controller manager has
// its own; it works on the Store directly.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "registry.h"
#include "repository.h"

namespace kite::controlplane::apiserver {

class NamespaceFinalizer {
 public:
  NamespaceFinalizer(const Registry& registry, Repository& repository);
  ~NamespaceFinalizer();
  NamespaceFinalizer(const NamespaceFinalizer&) = delete;
  NamespaceFinalizer& operator=(const NamespaceFinalizer&) = delete;

  // One pass over all namespaces (the thread calls it on changes and every 2 s).
  void pass();

 private:
  void run();
  // Deletes what is left in the namespace; true when it is empty.
  bool emptyNamespace(const std::string& ns);

  const Registry& registry_;
  Repository& repository_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::unique_ptr<Watch> watch_;
  // When each terminating namespace was first seen (by uid). Its content is deleted only a
  // few seconds later, as upstream's controller gets to it: `kubectl delete -f` of a file
  // with a namespace and objects in it deletes them itself instead of finding them gone.
  std::map<std::string, std::chrono::steady_clock::time_point> firstSeen_;
  std::thread thread_;
};

}  // namespace kite::controlplane::apiserver
