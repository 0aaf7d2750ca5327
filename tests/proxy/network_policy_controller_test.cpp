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
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return texts_.size();
  }
  // Waits until some text recorded (from the from-th on) satisfies pred.
  bool waitFor(const std::function<bool(const std::string&)>& pred, std::size_t from = 0) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        for (std::size_t i = from; i < texts_.size(); ++i) {
          if (pred(texts_[i])) return true;
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
  // Full: the pod is isolated; no namespace matches yet, so nothing is allowed.
  const std::string mapped = "ingress-pods { 10.42.0.7 : jump ";
  // The chain the text's map element sends the pod to (the last one: an update deletes the
  // old element first), or "".
  const auto chainIn = [&](const std::string& t) {
    const auto at = t.rfind(mapped);
    if (at == std::string::npos) return std::string();
    const auto from = at + mapped.size();
    return t.substr(from, t.find(' ', from) - from);
  };
  std::string chain;
  ASSERT_TRUE(recorder.waitFor([&](const std::string& t) {
    chain = chainIn(t);
    return t.find("delete table inet kite-netpol") != std::string::npos && !chain.empty() &&
           t.find("add element inet kite-netpol " + chain + "-ports") == std::string::npos;
  }));
  ASSERT_THAT(chain, ::testing::StartsWith("in-"));

  // A namespace gets the label: the peer is allowed on the named port, resolved on the pod,
  // incrementally. The rule that allowed nothing now uses the named port, so the pod moves
  // to another chain.
  c.create(
      api::decodeYaml<api::core::v1::Namespace>("metadata: {name: ops, labels: {team: ops}}\n"));
  auto other = c.create(api::decodeYaml<api::core::v1::Pod>(
      "metadata: {namespace: ops, name: probe}\nspec: {nodeName: n2, containers: [{name: c, "
      "image: busybox}]}\n"));
  other.status.phase = "Running";
  other.status.podIP = "10.42.1.9";
  c.updateStatus(other);
  const std::string before = chain;
  EXPECT_TRUE(recorder.waitFor([&](const std::string& t) {
    chain = chainIn(t);
    return t.find("delete table") == std::string::npos && !chain.empty() &&
           t.find("add set inet kite-netpol " + chain + "-ports") != std::string::npos &&
           t.find(chain + "-ports { 10.42.1.9 . tcp . 8080 }") != std::string::npos &&
           t.find("delete chain inet kite-netpol " + before) != std::string::npos;
  }));

  // The existing namespace loses its label (an update, not an add): the peer goes...
  auto ops = c.get<api::core::v1::Namespace>("", "ops");
  ops.metadata.labels.erase("team");
  auto mark = recorder.size();
  ops = c.update(ops);
  const std::string allowed = chain;
  EXPECT_TRUE(recorder.waitFor(
      [&](const std::string& t) {
        return t.find("delete table") == std::string::npos &&
               (t.find("delete element inet kite-netpol " + allowed +
                       "-ports { 10.42.1.9 . tcp . 8080 }") != std::string::npos ||
                t.find("delete chain inet kite-netpol " + allowed) != std::string::npos);
      },
      mark));
  // ...and comes back with the label.
  ops.metadata.labels["team"] = "ops";
  mark = recorder.size();
  c.update(ops);
  EXPECT_TRUE(recorder.waitFor(
      [&](const std::string& t) {
        if (t.find("delete table") != std::string::npos ||
            t.find("-ports { 10.42.1.9 . tcp . 8080 }") == std::string::npos ||
            t.rfind("add ") == std::string::npos) {
          return false;
        }
        const auto moved = chainIn(t);
        if (!moved.empty()) chain = moved;
        return t.find("add element inet kite-netpol " + chain +
                      "-ports { 10.42.1.9 . tcp . 8080 }") != std::string::npos ||
               t.find("add set inet kite-netpol " + chain + "-ports") != std::string::npos;
      },
      mark));

  // The pod loses its label: no longer isolated.
  pod = c.get<api::core::v1::Pod>("prod", "web");
  pod.metadata.labels["app"] = "other";
  c.update(pod);
  EXPECT_TRUE(recorder.waitFor([&](const std::string& t) {
    return t.find("delete element inet kite-netpol ingress-pods { 10.42.0.7 : jump " + chain +
                  " }") != std::string::npos &&
           t.find("delete chain inet kite-netpol " + chain) != std::string::npos;
  }));
  EXPECT_GE(controller.syncCount(), 4U);  // the last one may not be counted yet
  controller.stop();
}

}  // namespace
}  // namespace kite::proxy
