#include "workload_controller_base.h"

#include <spdlog/spdlog.h>

namespace kite::controlplane::controllers {

WorkloadControllerBase::WorkloadControllerBase(client::Client& client,
                                               const WorkloadControllerOptions& options,
                                               std::shared_ptr<client::SharedInformers> informers)
    : sharedInformers_(std::move(informers)),
      client_(client),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : &base::realClock()) {}

WorkloadControllerBase::~WorkloadControllerBase() = default;

void WorkloadControllerBase::start() {
  if (started_) return;
  started_ = true;
  for (auto* informer : informers_) informer->acquire();
  worker_ = std::thread([this] {
    for (auto* informer : informers_) {
      if (!informer->waitForSync(options_.syncTimeout)) {
        if (queue_.shuttingDown()) return;
        spdlog::warn("{}: informers did not sync in time; starting anyway", name());
      }
    }
    work();
  });
}

void WorkloadControllerBase::stop() {
  queue_.shutDown();
  // Once: stop() runs again from the destructors. A shared informer goes on for its other
  // users.
  if (started_ && !released_) {
    released_ = true;
    for (auto* informer : informers_) informer->release();
  }
  if (worker_.joinable()) worker_.join();
}

void WorkloadControllerBase::work() {
  while (auto key = queue_.get()) {
    try {
      sync(*key);
      queue_.forget(*key);
    } catch (const std::exception& e) {
      // Conflicts are expected while the cache catches up: retry quietly.
      spdlog::debug("{}: sync {} failed: {}", name(), *key, e.what());
      queue_.addRateLimited(*key);
    }
    queue_.done(*key);
  }
}

}  // namespace kite::controlplane::controllers
