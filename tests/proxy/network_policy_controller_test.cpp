// The NetworkPolicyController against a real `kite server` (KITE_TEST_BINARY or the tree's
// kite): its informers turn a policy, a pod and namespaces into nft text (recorded here, not
// applied), a full sync first, then incremental ones as the pod's labels and the namespace
// labels change.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "kite/api/json.h"
#include "kite/client/client.h"
#include "kite/proxy/network_policy_controller.h"
#include "kite/proxy/network_policy_rules.h"
#include "test_server.h"

namespace kite::proxy {
namespace {

using ::testing::HasSubstr;

class Recorder {
 public:
  void record(const std::string& text) {
    std::lock_guard lock(mutex_);
    texts_.push_back(text);
  }
  // Waits until some recorded text satisfies pred.
  bool waitFor(const std::function<bool(const std::string&)>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        for (const auto& t : texts_) {
          if (pred(t)) return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> texts_;
};

TEST(NetworkPolicyControllerServer, PoliciesPodsAndNamespacesReachTheRules) {
  client::testing::TestServer server;
  server.start();
  client::Client c(server.config());

  c.create(api::decodeYaml<api::core::v1::Namespace>("metadata: {name: prod}\n"));
  auto pod = c.create(api::decodeYaml<api::core::v1::Pod>(
      "metadata: {namespace: prod, name: web, labels: {app: web}}\n"
      "spec: {nodeName: n1, containers: [{name: c, image: nginx, ports: [{name: http, "
      "containerPort: 8080}]}]}\n"));
  pod.status.phase = "Running";
  pod.status.podIP = "10.42.0.7";
  pod.status.podIPs = {{.ip = "10.42.0.7"}};
  pod = c.updateStatus(pod);
  c.create(api::decodeYaml<api::networking::v1::NetworkPolicy>(
      "metadata: {namespace: prod, name: web}\n"
      "spec: {podSelector: {matchLabels: {app: web}}, ingress: [{from: [{namespaceSelector: "
      "{matchLabels: {team: ops}}}], ports: [{port: http}]}]}\n"));

  Recorder recorder;
  NetworkPolicyController controller(
      c, {.nodeName = "n1",
          .minSyncPeriod = std::chrono::milliseconds(50),
          .syncPeriod = std::chrono::milliseconds(60'000),
          .apply = [&](const std::string& text) { recorder.record(text); }});
  controller.start();
  const std::string id = netpol::nft::policyId("prod/web");
  // Full: the pod is isolated, its named port resolved; no namespace matches yet.
  ASSERT_TRUE(recorder.waitFor([&](const std::string& t) {
    return t.find("delete table inet kite-netpol") != std::string::npos &&
           t.find("ingress-isolated { 10.42.0.7 }") != std::string::npos &&
           t.find("10.42.0.7 . tcp . 8080") == std::string::npos;
  }));

  // A namespace gets the label: the rule appears, incrementally.
  c.create(
      api::decodeYaml<api::core::v1::Namespace>("metadata: {name: ops, labels: {team: ops}}\n"));
  auto other = c.create(api::decodeYaml<api::core::v1::Pod>(
      "metadata: {namespace: ops, name: probe}\nspec: {nodeName: n2, containers: [{name: c, "
      "image: busybox}]}\n"));
  other.status.phase = "Running";
  other.status.podIP = "10.42.1.9";
  c.updateStatus(other);
  EXPECT_TRUE(recorder.waitFor([&](const std::string& t) {
    return t.find("delete table") == std::string::npos &&
           t.find(id + "-ingress-0-peers { 10.42.1.9 }") != std::string::npos;
  }));

  // The pod loses its label: no longer isolated.
  pod = c.get<api::core::v1::Pod>("prod", "web");
  pod.metadata.labels["app"] = "other";
  c.update(pod);
  EXPECT_TRUE(recorder.waitFor([&](const std::string& t) {
    return t.find("delete element inet kite-netpol ingress-isolated { 10.42.0.7 }") !=
               std::string::npos &&
           t.find("delete chain inet kite-netpol " + id + "-ingress") != std::string::npos;
  }));
  EXPECT_GE(controller.syncCount(), 3U);
  controller.stop();
}

}  // namespace
}  // namespace kite::proxy
