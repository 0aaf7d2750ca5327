#pragma once
// The fixture of the scheduler's server tests: a real `kite server --disable-scheduler`, a
// client, the scheduler under test, and helpers to make nodes and pods and wait for them.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../../client/test_server.h"
#include "kite/api/meta.h"
#include "kite/client/client.h"
#include "kite/controlplane/scheduler.h"
#include "objects.h"

namespace kite::controlplane::schedtest {

namespace corev1 = api::core::v1;
using namespace std::chrono_literals;

inline bool eventually(const std::function<bool()>& check,
                       std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return check();
}

class SchedulerServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.start();
    client_ = std::make_unique<client::Client>(server_.config());
  }
  void TearDown() override {
    if (scheduler_) scheduler_->stop();
    scheduler_.reset();
    client_.reset();
    server_.stop();
  }

  void startScheduler(bool leaderElect = false) {
    scheduler_ = std::make_unique<Scheduler>(*client_, SchedulerOptions{.leaderElect = leaderElect,
                                                                        .bindWorkers = 4,
                                                                        .podInitialBackoff = 100ms,
                                                                        .podMaxBackoff = 500ms});
    scheduler_->start();
  }

  void createNode(const corev1::Node& node) {
    const auto status = node.status;
    auto created = client_->create(node);
    if (created.status.allocatable.empty()) {
      // The API server drops status on create: set it through the status subresource.
      created.status = status;
      client_->updateStatus(created);
    }
  }

  corev1::Pod createPod(const corev1::Pod& pod) { return client_->create(pod); }

  std::string nodeOf(const std::string& name) {
    return client_->get<corev1::Pod>("default", name).spec.nodeName;
  }
  std::string waitForNode(const std::string& name) {
    std::string node;
    eventually([&] { return !(node = nodeOf(name)).empty(); });
    return node;
  }

  std::vector<corev1::Event> eventsOf(const std::string& pod, const std::string& reason) {
    std::vector<corev1::Event> out;
    for (auto& e : client_->list<corev1::Event>("default").items) {
      if (e.involvedObject.name == pod && e.reason == reason) out.push_back(std::move(e));
    }
    return out;
  }

  client::testing::TestServer server_;
  std::unique_ptr<client::Client> client_;
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace kite::controlplane::schedtest
