#pragma once
// The shape every cluster controller shares: informers feeding a rate-limited work queue, one
// worker thread that waits for the informers' first lists and then syncs key after key. A sync
// that throws is retried with the queue's per-key back-off.
//
// Derived classes register their informers (their own, or shared ones: shared_informers.h) with
// watch() and must call stop() in their destructor, before their members go away.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kite/client/informer.h"
#include "kite/client/shared_informers.h"
#include "kite/client/work_queue.h"
#include "kite/controlplane/controllers/controller.h"

namespace kite::controlplane::controllers {

class ClusterControllerBase : public Controller {
 public:
  // `informers`: the shared informers the derived class takes its informers from; held so
  // they outlive the derived class's references to them.
  ClusterControllerBase(std::string name, std::chrono::milliseconds syncTimeout,
                        std::shared_ptr<client::SharedInformers> informers = nullptr);
  ~ClusterControllerBase() override;
  ClusterControllerBase(const ClusterControllerBase&) = delete;
  ClusterControllerBase& operator=(const ClusterControllerBase&) = delete;

  std::string name() const override { return name_; }
  void start() override;
  void stop() override;

 protected:
  // Registers an informer to start with the controller and wait for.
  void watch(client::InformerBase& informer) { informers_.push_back(&informer); }
  // Handles one key; throws to have it retried.
  virtual void sync(const std::string& key) = 0;
  // Once every informer has synced, before the first key (e.g. recover state, create defaults).
  virtual void onSynced() {}

  client::WorkQueue& queue() { return queue_; }

 private:
  void run();

  std::shared_ptr<client::SharedInformers> sharedInformers_;  // destroyed last
  std::string name_;
  std::chrono::milliseconds syncTimeout_;
  std::vector<client::InformerBase*> informers_;
  client::WorkQueue queue_;
  std::mutex mutex_;
  bool started_ = false;
  bool stopped_ = false;
  std::thread worker_;
};

}  // namespace kite::controlplane::controllers
