// The cluster controllers against a real `kite server` (cluster_server_fixture.h): service
// accounts, the kubernetes Service, endpoints, node lifecycle and IPAM, ServiceLB.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cluster_server_fixture.h"

namespace kite::controlplane::controllers {
namespace {

using namespace cluster_test;  // NOLINT(google-build-using-namespace): the fixture's helpers

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

// A pod of app=web with a container port named "web" on 8080.
corev1::Pod webPod(const std::string& ns, const std::string& name) {
  corev1::Pod p;
  p.metadata.name = name;
  p.metadata.namespace_ = ns;
  p.metadata.labels = {{"app", "web"}};
  p.spec.nodeName = "ep-node";
  corev1::Container c;
  c.name = "web";
  c.image = "example/web";
  corev1::ContainerPort cp;
  cp.name = "web";
  cp.containerPort = 8080;
  c.ports = {cp};
  p.spec.containers = {c};
  return p;
}

// What the kubelet would report: running with an IP, Ready as asked.
void setPodStatus(client::Client& c, const std::string& ns, const std::string& name,
                  const std::string& ip, bool ready) {
  auto p = c.get<corev1::Pod>(ns, name);
  p.status.phase = "Running";
  p.status.podIP = ip;
  p.status.podIPs = {corev1::PodIP{ip}};
  corev1::PodCondition cond;
  cond.type = "Ready";
  cond.status = ready ? "True" : "False";
  p.status.conditions = {cond};
  c.updateStatus(p);
}

std::vector<discoveryv1::EndpointSlice> slicesOf(client::Client& c, const std::string& ns,
                                                 const std::string& service) {
  return c
      .list<discoveryv1::EndpointSlice>(
          ns, {.labelSelector =
                   "kubernetes.io/service-name=" + service +
                   ",endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io"})
      .items;
}

TEST_F(ClusterControllersTest, EndpointsFollowPods) {
  const std::string ns = "ep-test";
  createNamespace(ns);
  corev1::Service svc;
  svc.metadata.name = "web";
  svc.metadata.namespace_ = ns;
  svc.spec.selector = {{"app", "web"}};
  corev1::ServicePort port;
  port.name = "http";
  port.port = 80;
  port.targetPort = api::IntOrString("web");
  svc.spec.ports = {port};
  const auto created = client_->create(svc);
  // A Service without a selector is left alone.
  corev1::Service manual;
  manual.metadata.name = "manual";
  manual.metadata.namespace_ = ns;
  manual.spec.ports = {port};
  manual.spec.ports[0].targetPort = api::IntOrString(8080);
  client_->create(manual);

  client_->create(webPod(ns, "web-a"));
  client_->create(webPod(ns, "web-b"));
  setPodStatus(*client_, ns, "web-a", "10.42.0.10", true);
  setPodStatus(*client_, ns, "web-b", "10.42.0.11", false);

  EXPECT_TRUE(eventually([&] {
    const auto slices = slicesOf(*client_, ns, "web");
    if (slices.size() != 1 || slices[0].endpoints.size() != 2) return false;
    const auto& s = slices[0];
    const auto& a = s.endpoints[0];
    const auto& b = s.endpoints[1];
    return s.addressType == "IPv4" && s.ports.size() == 1 && s.ports[0].port == 8080 &&
           s.ports[0].name == "http" && s.metadata.ownerReferences.size() == 1 &&
           s.metadata.ownerReferences[0].uid == created.metadata.uid &&
           a.addresses[0] == "10.42.0.10" && a.conditions.ready == true &&
           a.nodeName == "ep-node" && a.targetRef && a.targetRef->name == "web-a" &&
           b.addresses[0] == "10.42.0.11" && b.conditions.ready == false &&
           b.conditions.serving == false;
  }));
  EXPECT_TRUE(eventually([&] {
    const auto ep = client_->get<corev1::Endpoints>(ns, "web");
    return ep.subsets.size() == 1 && ep.subsets[0].addresses.size() == 1 &&
           ep.subsets[0].addresses[0].ip == "10.42.0.10" &&
           ep.subsets[0].notReadyAddresses.size() == 1 &&
           ep.subsets[0].notReadyAddresses[0].ip == "10.42.0.11" &&
           ep.subsets[0].ports.size() == 1 && ep.subsets[0].ports[0].port == 8080;
  }));

  // web-a becomes unready, web-b ready.
  setPodStatus(*client_, ns, "web-a", "10.42.0.10", false);
  setPodStatus(*client_, ns, "web-b", "10.42.0.11", true);
  EXPECT_TRUE(eventually([&] {
    const auto ep = client_->get<corev1::Endpoints>(ns, "web");
    return ep.subsets.size() == 1 && ep.subsets[0].addresses.size() == 1 &&
           ep.subsets[0].addresses[0].ip == "10.42.0.11" &&
           ep.subsets[0].notReadyAddresses.size() == 1 &&
           ep.subsets[0].notReadyAddresses[0].ip == "10.42.0.10";
  }));

  // Deleted pods leave.
  api::meta::v1::DeleteOptions now;
  now.gracePeriodSeconds = 0;
  client_->remove<corev1::Pod>(ns, "web-a", now);
  client_->remove<corev1::Pod>(ns, "web-b", now);
  EXPECT_TRUE(eventually([&] {
    const auto slices = slicesOf(*client_, ns, "web");
    return slices.size() == 1 && slices[0].endpoints.empty();
  }));
  EXPECT_TRUE(
      eventually([&] { return client_->get<corev1::Endpoints>(ns, "web").subsets.empty(); }));

  // Nothing was written for the selector-less Service.
  EXPECT_TRUE(slicesOf(*client_, ns, "manual").empty());
  EXPECT_THROW(client_->get<corev1::Endpoints>(ns, "manual"), client::ApiError);

  // The Service goes, its slices and Endpoints too.
  client_->remove<corev1::Service>(ns, "web");
  EXPECT_TRUE(eventually([&] { return slicesOf(*client_, ns, "web").empty(); }));
}

void renewLease(client::Client& c, const std::string& node) {
  try {
    auto lease = c.get<coordinationv1::Lease>("kube-node-lease", node);
    lease.spec.renewTime = api::Time::now();
    c.update(lease);
  } catch (const client::ApiError& e) {
    if (!e.isNotFound()) throw;
    coordinationv1::Lease lease;
    lease.metadata.name = node;
    lease.metadata.namespace_ = "kube-node-lease";
    lease.spec.holderIdentity = node;
    lease.spec.leaseDurationSeconds = 40;
    lease.spec.renewTime = api::Time::now();
    c.create(lease);
  }
}

bool hasTaint(const corev1::Node& n, const std::string& key, const std::string& effect) {
  for (const auto& t : n.spec.taints) {
    if (t.key == key && t.effect == effect) return true;
  }
  return false;
}

// Deleted, or its graceful deletion started (with no kubelet, the pod object stays).
bool podGone(client::Client& c, const std::string& ns, const std::string& name) {
  try {
    return c.get<corev1::Pod>(ns, name).metadata.deletionTimestamp.has_value();
  } catch (const client::ApiError& e) {
    return e.isNotFound();
  }
}

TEST_F(ClusterControllersTest, SilentNodeBecomesUnknownTaintedAndEvicts) {
  const std::string node = "lost-node";
  const std::string ns = "nl-test";
  createNamespace(ns);
  createReadyNode(*client_, node);
  renewLease(*client_, node);

  corev1::Pod shortLived = webPod(ns, "tolerates-2s");
  shortLived.spec.nodeName = node;
  corev1::Toleration t;
  t.key = "node.kubernetes.io/unreachable";
  t.operator_ = "Exists";
  t.effect = "NoExecute";
  t.tolerationSeconds = 2;
  shortLived.spec.tolerations = {t};
  client_->create(shortLived);
  corev1::Pod forever = webPod(ns, "tolerates-forever");
  forever.spec.nodeName = node;
  t.tolerationSeconds.reset();
  forever.spec.tolerations = {t};
  client_->create(forever);

  // Renewed for a while: stays Ready and untainted.
  for (int i = 0; i < 10; ++i) {
    renewLease(*client_, node);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  }
  auto n = client_->get<corev1::Node>("", node);
  EXPECT_EQ(api::findCondition(n.status.conditions, "Ready")->status, "True");
  EXPECT_TRUE(n.spec.taints.empty());

  // The Lease stops: Unknown and unreachable within the 3 s grace period (+ monitor period).
  const auto stopped = std::chrono::steady_clock::now();
  EXPECT_TRUE(eventually(
      [&] {
        const auto now = client_->get<corev1::Node>("", node);
        const auto* ready = api::findCondition(now.status.conditions, "Ready");
        const auto* memory = api::findCondition(now.status.conditions, "MemoryPressure");
        return ready->status == "Unknown" && ready->reason == "NodeStatusUnknown" &&
               ready->message == "Kubelet stopped posting node status." &&
               memory->status == "Unknown" &&
               hasTaint(now, "node.kubernetes.io/unreachable", "NoExecute") &&
               hasTaint(now, "node.kubernetes.io/unreachable", "NoSchedule");
      },
      std::chrono::seconds(10)));
  EXPECT_GE(std::chrono::steady_clock::now() - stopped, std::chrono::milliseconds(2500));

  // The pod tolerating it 2 s is evicted after those; the one tolerating it forever stays.
  EXPECT_FALSE(podGone(*client_, ns, "tolerates-2s"));
  EXPECT_TRUE(
      eventually([&] { return podGone(*client_, ns, "tolerates-2s"); }, std::chrono::seconds(10)));
  const auto evicted = client_->get<corev1::Pod>(ns, "tolerates-2s");
  const auto* disruption = api::findCondition(evicted.status.conditions, "DisruptionTarget");
  ASSERT_NE(disruption, nullptr);
  EXPECT_EQ(disruption->reason, "DeletionByTaintManager");
  EXPECT_TRUE(
      eventually([&] { return hasEvent(*client_, ns, "tolerates-2s", "TaintManagerEviction"); }));
  EXPECT_FALSE(podGone(*client_, ns, "tolerates-forever"));

  // The kubelet comes back: Ready=False gives not-ready taints, Ready=True none.
  renewLease(*client_, node);
  ASSERT_TRUE(eventually([&] {
    auto current = client_->get<corev1::Node>("", node);
    for (auto& c : current.status.conditions) {
      c.status = "False";
      c.reason = "KubeletNotReady";
      c.lastHeartbeatTime = api::Time::now();
    }
    client_->updateStatus(current);
    return true;
  }));
  EXPECT_TRUE(eventually([&] {
    const auto now = client_->get<corev1::Node>("", node);
    return hasTaint(now, "node.kubernetes.io/not-ready", "NoExecute") &&
           hasTaint(now, "node.kubernetes.io/not-ready", "NoSchedule") &&
           !hasTaint(now, "node.kubernetes.io/unreachable", "NoExecute");
  }));
  renewLease(*client_, node);
  ASSERT_TRUE(eventually([&] {
    auto current = client_->get<corev1::Node>("", node);
    for (auto& c : current.status.conditions) {
      if (c.type == "Ready") c.status = "True";
      c.lastHeartbeatTime = api::Time::now();
    }
    client_->updateStatus(current);
    return true;
  }));
  EXPECT_TRUE(eventually([&] { return client_->get<corev1::Node>("", node).spec.taints.empty(); }));

  // Cordoned: node.kubernetes.io/unschedulable:NoSchedule, until uncordoned.
  client_->patch<corev1::Node>("", node, client::PatchType::Merge,
                               R"({"spec":{"unschedulable":true}})");
  EXPECT_TRUE(eventually([&] {
    return hasTaint(client_->get<corev1::Node>("", node), "node.kubernetes.io/unschedulable",
                    "NoSchedule");
  }));
  client_->patch<corev1::Node>("", node, client::PatchType::Merge,
                               R"({"spec":{"unschedulable":false}})");
  EXPECT_TRUE(eventually([&] { return client_->get<corev1::Node>("", node).spec.taints.empty(); }));
}

std::string podCidrOf(client::Client& c, const std::string& node) {
  const auto n = c.get<corev1::Node>("", node);
  if (n.spec.podCIDRs.size() != 1 || n.spec.podCIDRs[0] != n.spec.podCIDR) return {};
  return n.spec.podCIDR;
}

TEST_F(ClusterControllersTest, NodesGetPodCidrs) {
  createReadyNode(*client_, "ipam-a");
  createReadyNode(*client_, "ipam-b");
  std::string a;
  std::string b;
  ASSERT_TRUE(eventually([&] {
    a = podCidrOf(*client_, "ipam-a");
    b = podCidrOf(*client_, "ipam-b");
    return !a.empty() && !b.empty();
  }));
  EXPECT_NE(a, b);
  EXPECT_TRUE(a.starts_with("10.42.") && a.ends_with(".0/24")) << a;
  EXPECT_TRUE(b.starts_with("10.42.") && b.ends_with(".0/24")) << b;

  // A deleted node's subnet is handed out again.
  client_->remove<corev1::Node>("", "ipam-a");
  createReadyNode(*client_, "ipam-c");
  EXPECT_TRUE(eventually([&] { return podCidrOf(*client_, "ipam-c") == a; }));

  // A new node-ipam controller (a server restart) recovers what the nodes hold.
  for (auto& c : *controllers_) {
    if (c->name() == "node-ipam") c->stop();
  }
  ClusterControllerOptions o;
  o.rootCaPem = kCaPem;
  auto fresh = makeClusterControllers(*client_, o);
  for (auto& c : fresh) {
    if (c->name() == "node-ipam") c->start();
  }
  createReadyNode(*client_, "ipam-d");
  std::string d;
  EXPECT_TRUE(eventually([&] {
    d = podCidrOf(*client_, "ipam-d");
    return !d.empty();
  }));
  for (const auto& n : client_->list<corev1::Node>("").items) {
    if (n.metadata.name != "ipam-d") {
      EXPECT_NE(n.spec.podCIDR, d) << n.metadata.name;
    }
  }
  EXPECT_EQ(podCidrOf(*client_, "ipam-b"), b);
  for (auto& c : fresh) c->stop();
}

TEST_F(ClusterControllersTest, LoadBalancerServicesGetNodeAddresses) {
  const std::string ns = "lb-test";
  createNamespace(ns);
  createReadyNode(*client_, "lb-node");
  corev1::Service svc;
  svc.metadata.name = "lb";
  svc.metadata.namespace_ = ns;
  svc.spec.type = "LoadBalancer";
  svc.spec.selector = {{"app", "lb"}};
  corev1::ServicePort port;
  port.name = "http";
  port.port = 80;
  port.targetPort = api::IntOrString(8080);
  svc.spec.ports = {port};
  client_->create(svc);
  corev1::Service plain = svc;
  plain.metadata.name = "plain";
  plain.spec.type = "ClusterIP";
  client_->create(plain);
  EXPECT_TRUE(eventually([&] {
    const auto got = client_->get<corev1::Service>(ns, "lb");
    return got.status.loadBalancer.ingress.size() == 1 &&
           got.status.loadBalancer.ingress[0].ip == "192.0.2.7";
  }));
  EXPECT_TRUE(client_->get<corev1::Service>(ns, "plain").status.loadBalancer.ingress.empty());
}

}  // namespace
}  // namespace kite::controlplane::controllers
