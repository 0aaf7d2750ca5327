#pragma once
// A list-then-watch feed of one key prefix of the Store, for caches that must follow the
// stored objects (the RBAC policy, the node graph): the owner gets the whole prefix once,
// then every change in revision order; when the watch ends (compaction overtook it, the
// backend went away) it gets a fresh full list and a new watch, retried with back-off.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kite/controlplane/store.h"

namespace kite::controlplane::auth {

class StoreInformer {
 public:
  struct Handlers {
    // Everything under the prefix now: replaces what the owner knew.
    std::function<void(const std::vector<KeyValue>&)> replaceAll;
    // Changes since the last call.
    std::function<void(const std::vector<WatchEvent>&)> apply;
  };

  // Lists the prefix before returning (throws StoreError when the store cannot be read), so
  // the owner is complete from the start. Handlers never run concurrently with each other.
  StoreInformer(Store& store, std::string prefix, Handlers handlers);
  ~StoreInformer();
  StoreInformer(const StoreInformer&) = delete;
  StoreInformer& operator=(const StoreInformer&) = delete;

  // How many times the prefix was listed (1 after construction); for tests of relisting.
  int lists() const;

 private:
  void listAndWatch();
  void run();

  Store& store_;
  const std::string prefix_;
  Handlers handlers_;
  std::unique_ptr<Watch> watch_;  // touched by the constructor and the relist thread only
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool watchEnded_ = false;
  bool stopping_ = false;
  int lists_ = 0;
  std::thread thread_;
};

}  // namespace kite::controlplane::auth
