#pragma once
// What the workload controllers share: informers started and synced before one worker thread
// takes keys ("namespace/name") from a rate-limited work queue and syncs them.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kite/base/clock.h"
#include "kite/client/informer.h"
#include "kite/client/shared_informers.h"
#include "kite/client/work_queue.h"
#include "kite/controlplane/controllers/controller.h"
#include "kite/controlplane/controllers/workloads.h"

namespace kite::controlplane::controllers {

class WorkloadControllerBase : public Controller {
 public:
  // `informers`: the shared informers the derived class takes its informers from; held so
  // they outlive the derived class's references to them.
  WorkloadControllerBase(client::Client& client, const WorkloadControllerOptions& options,
                         std::shared_ptr<client::SharedInformers> informers = nullptr);
  ~WorkloadControllerBase() override;

  void start() override;
  void stop() override;

 protected:
  // Syncs one key; throws to be retried with back-off.
  virtual void sync(const std::string& key) = 0;
  // Registers an informer to start (and stop) with the controller.
  void own(client::InformerBase& informer) { informers_.push_back(&informer); }
  void enqueue(const std::string& key) { queue_.add(key); }
  void enqueueAfter(const std::string& key, std::chrono::steady_clock::duration d) {
    queue_.addAfter(key, d);
  }
  std::chrono::system_clock::time_point now() const { return clock_->wallNow(); }

  // Declared first: destroyed after everything else of the controller.
  std::shared_ptr<client::SharedInformers> sharedInformers_;
  client::Client& client_;
  WorkloadControllerOptions options_;
  const base::Clock* clock_;

 private:
  void work();

  client::WorkQueue queue_;
  std::vector<client::InformerBase*> informers_;
  std::thread worker_;
  bool started_ = false;
  bool released_ = false;  // the informers, once
};

}  // namespace kite::controlplane::controllers
