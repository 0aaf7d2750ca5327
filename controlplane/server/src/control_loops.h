#pragma once
// The scheduler and the controllers inside `kite server` (k3s runs kube-scheduler and
// kube-controller-manager in its server process the same way). They reach the API server like
// any client, over HTTPS on loopback, so they see exactly what other clients see. Several
// servers (etcd HA) elect one leader each: the scheduler through its own Lease, the controller
// manager through kube-system/kube-controller-manager; controllers are created when this
// server becomes leader and destroyed when it stops leading.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "kite/client/client.h"
#include "kite/client/leader_election.h"
#include "kite/controlplane/controllers/cluster.h"
#include "kite/controlplane/controllers/controller.h"
#include "kite/controlplane/controllers/workloads.h"
#include "kite/controlplane/scheduler.h"

namespace kite::controlplane {

struct ControlLoopsConfig {
  client::RestConfig api;
  bool scheduler = true;
  bool controllers = true;
  controllers::ClusterControllerOptions cluster;
  controllers::WorkloadControllerOptions workloads;
};

class ControlLoops {
 public:
  explicit ControlLoops(ControlLoopsConfig config);
  ~ControlLoops();
  ControlLoops(const ControlLoops&) = delete;
  ControlLoops& operator=(const ControlLoops&) = delete;

  void stop();

 private:
  void manage();

  ControlLoopsConfig config_;
  std::unique_ptr<client::Client> client_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<client::LeaderElector> elector_;
  std::vector<std::unique_ptr<controllers::Controller>> running_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool leading_ = false;
  bool stopping_ = false;
  std::thread manager_;  // starts and stops the controllers as leadership changes
};

}  // namespace kite::controlplane
