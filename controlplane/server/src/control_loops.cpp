#include "control_loops.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>

#include "kite/pki/random.h"

namespace kite::controlplane {

namespace {

std::string candidateIdentity() {
  std::array<char, 256> host{};
  gethostname(host.data(), host.size() - 1);
  return std::string(host.data()) + "_" + pki::randomHex(8);
}

}  // namespace

ControlLoops::ControlLoops(ControlLoopsConfig config)
    : config_(std::move(config)), client_(std::make_unique<client::Client>(config_.api)) {
  if (config_.scheduler) {
    scheduler_ = std::make_unique<Scheduler>(*client_);
    scheduler_->start();
    spdlog::info("scheduler started");
  }
  if (config_.controllers) {
    manager_ = std::thread([this] { manage(); });
    client::LeaderElectionConfig election;
    election.leaseName = "kube-controller-manager";
    election.identity = candidateIdentity();
    // The callbacks must return at once: the manager thread does the work.
    election.onStartedLeading = [this] {
      std::lock_guard lock(mutex_);
      leading_ = true;
      changed_.notify_all();
    };
    election.onStoppedLeading = [this] {
      std::lock_guard lock(mutex_);
      leading_ = false;
      changed_.notify_all();
    };
    elector_ = std::make_unique<client::LeaderElector>(*client_, election);
    elector_->start();
  }
}

ControlLoops::~ControlLoops() { stop(); }

void ControlLoops::manage() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stopping_ || leading_ != !running_.empty(); });
    if (stopping_) break;
    if (leading_ && running_.empty()) {
      spdlog::info("controller manager: leading; starting the controllers");
      // One informer per kind for all of them, new with each term (the controllers hold it).
      const auto informers = std::make_shared<client::SharedInformers>(*client_);
      auto cluster = controllers::makeClusterControllers(*client_, informers, config_.cluster);
      auto workloads = controllers::makeWorkloadControllers(*client_, informers, config_.workloads);
      for (auto& c : cluster) running_.push_back(std::move(c));
      for (auto& c : workloads) running_.push_back(std::move(c));
      for (auto& c : running_) c->start();
    } else if (!leading_ && !running_.empty()) {
      spdlog::warn("controller manager: no longer leading; stopping the controllers");
      for (auto& c : running_) c->stop();
      running_.clear();
    }
  }
  for (auto& c : running_) c->stop();
  running_.clear();
}

void ControlLoops::stop() {
  if (elector_) elector_->stop();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (manager_.joinable()) manager_.join();
  if (scheduler_) scheduler_->stop();
}

}  // namespace kite::controlplane
