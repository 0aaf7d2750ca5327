#include "cluster_controller_base.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <thread>

namespace kite::controlplane::controllers {

ClusterControllerBase::ClusterControllerBase(std::string name,
                                             std::chrono::milliseconds syncTimeout,
                                             std::shared_ptr<client::SharedInformers> informers)
    // Retries back off from 5 ms up to 10 s: the controllers must converge quickly once the
    // cause (a conflict, a missing object) is gone.
    : sharedInformers_(std::move(informers)),
      name_(std::move(name)),
      syncTimeout_(syncTimeout),
      queue_(std::chrono::milliseconds(5), std::chrono::seconds(10)) {}

ClusterControllerBase::~ClusterControllerBase() { stop(); }

void ClusterControllerBase::start() {
  std::lock_guard lock(mutex_);
  if (started_ || stopped_) return;
  started_ = true;
  for (auto* informer : informers_) informer->acquire();
  worker_ = std::thread([this] { run(); });
}

void ClusterControllerBase::stop() {
  std::thread worker;
  bool release = false;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    release = started_;
    worker = std::move(worker_);
  }
  queue_.shutDown();
  // A shared informer goes on for its other users.
  if (release) {
    for (auto* informer : informers_) informer->release();
  }
  if (worker.joinable()) worker.join();
}

void ClusterControllerBase::run() {
  for (auto* informer : informers_) {
    while (!informer->waitForSync(syncTimeout_)) {
      if (queue_.shuttingDown()) return;
      spdlog::warn("{} controller: still waiting for its caches to sync", name_);
    }
  }
  while (!queue_.shuttingDown()) {
    try {
      onSynced();
      break;
    } catch (const std::exception& e) {
      spdlog::warn("{} controller: start-up failed, retrying: {}", name_, e.what());
      for (int i = 0; i < 10 && !queue_.shuttingDown(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
  while (auto key = queue_.get()) {
    try {
      sync(*key);
      queue_.forget(*key);
    } catch (const std::exception& e) {
      spdlog::info("{} controller: syncing {} failed, will retry: {}", name_, *key, e.what());
      queue_.addRateLimited(*key);
    }
    queue_.done(*key);
  }
}

}  // namespace kite::controlplane::controllers
