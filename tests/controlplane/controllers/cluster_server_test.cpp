// The cluster controllers against a real `kite server` (no kubelet: the test writes pod status
// and node Leases itself). One server and one set of controllers for the whole suite; each test
// works in its own namespace and with its own node names.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "kite/api/coordination/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/discovery/v1/types.h"
#include "kite/api/storage/v1/types.h"
#include "kite/client/client.h"
#include "kite/controlplane/controllers/cluster.h"
#include "test_server.h"

namespace kite::controlplane::controllers {
namespace {

namespace corev1 = api::core::v1;
namespace discoveryv1 = api::discovery::v1;
namespace storagev1 = api::storage::v1;
namespace coordinationv1 = api::coordination::v1;

constexpr const char* kCaPem =
    "-----BEGIN CERTIFICATE-----\nkite-test\n-----END CERTIFICATE-----\n";

// Polls check until it returns true or the timeout passes; failures inside count as false.
bool eventually(const std::function<bool()>& check,
                std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    try {
      if (check()) return true;
    } catch (const std::exception&) {
      // not there yet
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

class ClusterControllersTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new client::testing::TestServer();
    server_->start();
    client_ = new client::Client(server_->config());
    ClusterControllerOptions o;
    o.rootCaPem = kCaPem;
    o.serviceCidr = "10.43.0.0/16";
    o.apiserverAddress = "127.0.0.1";
    o.apiserverPort = 6443;
    o.nodeMonitorGracePeriod = std::chrono::seconds(3);
    o.nodeMonitorPeriod = std::chrono::milliseconds(500);
    o.localPathDir = "/var/lib/kite-test/storage";
    controllers_ =
        new std::vector<std::unique_ptr<Controller>>(makeClusterControllers(*client_, o));
    for (auto& c : *controllers_) c->start();
  }
  static void TearDownTestSuite() {
    for (auto& c : *controllers_) c->stop();
    delete controllers_;
    delete client_;
    delete server_;
  }

  static void createNamespace(const std::string& name) {
    corev1::Namespace ns;
    ns.metadata.name = name;
    client_->create(ns);
  }

  static client::testing::TestServer* server_;
  static client::Client* client_;
  static std::vector<std::unique_ptr<Controller>>* controllers_;
};

client::testing::TestServer* ClusterControllersTest::server_ = nullptr;
client::Client* ClusterControllersTest::client_ = nullptr;
std::vector<std::unique_ptr<Controller>>* ClusterControllersTest::controllers_ = nullptr;

TEST_F(ClusterControllersTest, NewNamespaceGetsDefaultServiceAccountAndRootCa) {
  createNamespace("sa-test");
  EXPECT_TRUE(eventually([] {
    return client_->get<corev1::ServiceAccount>("sa-test", "default").metadata.name == "default";
  }));
  EXPECT_TRUE(eventually([] {
    return client_->get<corev1::ConfigMap>("sa-test", "kube-root-ca.crt").data.at("ca.crt") ==
           kCaPem;
  }));
  // Deleted or edited, they come back.
  client_->remove<corev1::ServiceAccount>("sa-test", "default");
  auto cm = client_->get<corev1::ConfigMap>("sa-test", "kube-root-ca.crt");
  cm.data["ca.crt"] = "tampered";
  client_->update(cm);
  EXPECT_TRUE(eventually([] {
    return client_->get<corev1::ServiceAccount>("sa-test", "default").metadata.name == "default";
  }));
  EXPECT_TRUE(eventually([] {
    return client_->get<corev1::ConfigMap>("sa-test", "kube-root-ca.crt").data.at("ca.crt") ==
           kCaPem;
  }));
  // Existing namespaces too.
  EXPECT_TRUE(eventually([] {
    return client_->get<corev1::ServiceAccount>("kube-system", "default").metadata.name ==
           "default";
  }));
}

TEST_F(ClusterControllersTest, KubernetesServiceAndEndpoints) {
  EXPECT_TRUE(eventually([] {
    const auto s = client_->get<corev1::Service>("default", "kubernetes");
    return s.spec.clusterIP == "10.43.0.1" && s.spec.ports.size() == 1 &&
           s.spec.ports[0].name == "https" && s.spec.ports[0].port == 443 &&
           s.spec.ports[0].targetPort == api::IntOrString(6443);
  }));
  EXPECT_TRUE(eventually([] {
    const auto ep = client_->get<corev1::Endpoints>("default", "kubernetes");
    return ep.subsets.size() == 1 && ep.subsets[0].addresses.size() == 1 &&
           ep.subsets[0].addresses[0].ip == "127.0.0.1" && ep.subsets[0].ports[0].port == 6443;
  }));
  EXPECT_TRUE(eventually([] {
    const auto slice = client_->get<discoveryv1::EndpointSlice>("default", "kubernetes");
    return slice.addressType == "IPv4" && slice.endpoints.size() == 1 &&
           slice.endpoints[0].addresses[0] == "127.0.0.1" &&
           slice.metadata.labels.at("kubernetes.io/service-name") == "kubernetes";
  }));
}

}  // namespace
}  // namespace kite::controlplane::controllers
