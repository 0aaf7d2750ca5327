#pragma once
// The fixture of the cluster controllers' server tests (cluster_server_test.cpp,
// cluster_volumes_server_test.cpp): one real `kite server` and one set of controllers for the
// whole suite, no kubelet (the tests write pod status and node Leases themselves); each test
// works in its own namespace and with its own node names.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kite/api/coordination/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/discovery/v1/types.h"
#include "kite/api/meta.h"
#include "kite/api/storage/v1/types.h"
#include "kite/client/client.h"
#include "kite/controlplane/controllers/cluster.h"
#include "server_test_polling.h"
#include "test_server.h"

namespace kite::controlplane::controllers::cluster_test {

namespace corev1 = api::core::v1;
namespace discoveryv1 = api::discovery::v1;
namespace storagev1 = api::storage::v1;
namespace coordinationv1 = api::coordination::v1;

inline constexpr const char* kCaPem =
    "-----BEGIN CERTIFICATE-----\nkite-test\n-----END CERTIFICATE-----\n";

// Polls check until it returns true or the timeout passes; failures inside count as false.
inline bool eventually(const std::function<bool()>& check,
                       std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  return server_test::pollUntil(
      check, timeout, {.interval = std::chrono::milliseconds(100), .throwsMeanNotYet = true});
}

class ClusterControllersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<client::testing::TestServer>();
    server_->start();
    client_ = std::make_unique<client::Client>(server_->config());
    ClusterControllerOptions o;
    o.rootCaPem = kCaPem;
    o.serviceCidr = "10.43.0.0/16";
    o.apiserverAddress = "127.0.0.1";
    o.apiserverPort = 6443;
    o.nodeMonitorGracePeriod = std::chrono::seconds(3);
    o.nodeMonitorPeriod = std::chrono::milliseconds(500);
    o.localPathDir = "/var/lib/kite-test/storage";
    controllers_ = std::make_unique<std::vector<std::unique_ptr<Controller>>>(
        makeClusterControllers(*client_, o));
    for (auto& c : *controllers_) c->start();
  }
  static void TearDownTestSuite() {
    for (auto& c : *controllers_) c->stop();
    controllers_.reset();
    client_.reset();
    server_.reset();
  }

  static void createNamespace(const std::string& name) {
    corev1::Namespace ns;
    ns.metadata.name = name;
    client_->create(ns);
  }

  static inline std::unique_ptr<client::testing::TestServer> server_;
  static inline std::unique_ptr<client::Client> client_;
  static inline std::unique_ptr<std::vector<std::unique_ptr<Controller>>> controllers_;
};

// A Ready node labelled with its hostname, with an InternalIP.
inline void createReadyNode(client::Client& c, const std::string& name) {
  corev1::Node node;
  node.metadata.name = name;
  node.metadata.labels = {{"kubernetes.io/hostname", name}};
  c.create(node);
  // The controllers write the node too (pod CIDR): retry on conflicts.
  for (int attempt = 0;; ++attempt) {
    auto current = c.get<corev1::Node>("", name);
    corev1::NodeCondition ready;
    ready.type = "Ready";
    ready.status = "True";
    ready.reason = "KubeletReady";
    ready.lastHeartbeatTime = api::Time::now();
    ready.lastTransitionTime = api::Time::now();
    corev1::NodeCondition memory = ready;
    memory.type = "MemoryPressure";
    memory.status = "False";
    current.status.conditions = {ready, memory};
    corev1::NodeAddress address;
    address.type = "InternalIP";
    address.address = "192.0.2.7";
    current.status.addresses = {address};
    try {
      c.updateStatus(current);
      return;
    } catch (const client::ApiError& e) {
      if (!e.isConflict() || attempt > 20) throw;
    }
  }
}

inline bool hasEvent(client::Client& c, const std::string& ns, const std::string& object,
                     const std::string& reason) {
  for (const auto& e : c.list<corev1::Event>(ns).items) {
    if (e.involvedObject.name == object && e.reason == reason) return true;
  }
  return false;
}

}  // namespace kite::controlplane::controllers::cluster_test
