// The kubelet's API side against a real `kite server --disable-agent`: the pod source sees the
// pods bound to its node (not mirror pods), the status manager writes pods/status only when it
// changed and deletes a terminated pod for good, the config source reads ConfigMaps and Secrets
// (cached for its TTL) and issues pod-bound tokens; plus the Service environment variables.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "fakes/fake_clock.h"
#include "kite/api/core/v1/types.h"
#include "kite/client/client.h"
#include "kite/kubelet/api_config_source.h"
#include "kite/kubelet/api_pod_source.h"
#include "kite/kubelet/container_env.h"
#include "kite/kubelet/event_recorder.h"
#include "kite/kubelet/mirror_pods.h"
#include "kite/kubelet/node_affinity.h"
#include "kite/kubelet/service_env.h"
#include "kite/kubelet/status_manager.h"
#include "test_server.h"

namespace kite::kubelet {
namespace {

namespace corev1 = api::core::v1;
using client::testing::TestServer;

bool eventually(const std::function<bool()>& done,
                std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

corev1::Pod boundPod(const std::string& name, const std::string& node) {
  corev1::Pod pod;
  pod.metadata.name = name;
  pod.metadata.namespace_ = "default";
  pod.spec.nodeName = node;
  corev1::Container c;
  c.name = "app";
  c.image = "busybox:1.35";
  pod.spec.containers.push_back(c);
  return pod;
}

class ApiSourcesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer();  // NOLINT: one server for the suite, deleted in TearDownTestSuite
    server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;  // NOLINT
    server_ = nullptr;
  }
  ApiSourcesTest() : client_(server_->config()) {}

  static TestServer* server_;
  client::Client client_;
};
TestServer* ApiSourcesTest::server_ = nullptr;

TEST_F(ApiSourcesTest, PodSourceSeesTheNodesPodsButNotMirrorPods) {
  std::mutex mutex;
  std::vector<corev1::Pod> last;
  int pushes = 0;
  ApiPodSource source(client_, "node-src", [&](const std::vector<corev1::Pod>& pods) {
    std::lock_guard lock(mutex);
    last = pods;
    ++pushes;
  });
  source.start();
  // The empty first list is reported too.
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return pushes > 0;
  }));
  client_.create(boundPod("mine", "node-src"));
  client_.create(boundPod("other", "node-else"));
  auto mirror = boundPod("mirror", "node-src");
  mirror.metadata.annotations["kubernetes.io/config.mirror"] = "abc";
  client_.create(mirror);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return last.size() == 1 && last[0].metadata.name == "mine";
  }));
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(last[0].metadata.annotations.at("kubernetes.io/config.source"), "api");
  }
  client_.remove<corev1::Pod>("default", "mine", {.gracePeriodSeconds = 0});
  EXPECT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return last.empty();
  }));
  source.stop();
}

TEST_F(ApiSourcesTest, StatusManagerWritesOnlyChangesAndDeletesTerminatedPods) {
  auto pod = client_.create(boundPod("stat-pod", "node-st"));
  StatusManager manager(client_, std::chrono::milliseconds(50));
  manager.start();
  pod.status.phase = "Running";
  pod.status.podIP = "10.88.0.9";
  pod.status.hostIP = "192.0.2.1";
  corev1::PodCondition ready;
  ready.type = "Ready";
  ready.status = "True";
  pod.status.conditions.push_back(ready);
  manager.setStatus(pod);
  manager.waitIdle();
  EXPECT_EQ(manager.writes(), 1U);
  auto stored = client_.get<corev1::Pod>("default", "stat-pod");
  EXPECT_EQ(stored.status.phase, "Running");
  EXPECT_EQ(stored.status.podIP, "10.88.0.9");

  // The same status again (only a probe time differs): no write.
  pod.status.conditions[0].lastProbeTime = api::Time::now();
  manager.setStatus(pod);
  manager.waitIdle();
  EXPECT_EQ(manager.writes(), 1U);

  // Someone else changed the object meanwhile (the kubelet's resourceVersion is stale): the
  // write goes over a fresh GET.
  stored.metadata.labels["touched"] = "yes";
  client_.update(stored);
  pod.status.podIP = "10.88.0.10";
  manager.setStatus(pod);
  manager.waitIdle();
  EXPECT_EQ(manager.writes(), 2U);
  stored = client_.get<corev1::Pod>("default", "stat-pod");
  EXPECT_EQ(stored.status.podIP, "10.88.0.10");
  EXPECT_EQ(stored.metadata.labels.at("touched"), "yes");

  // Terminated: the final status, then the object is gone.
  client_.remove<corev1::Pod>("default", "stat-pod", {.gracePeriodSeconds = 30});
  EXPECT_TRUE(client_.get<corev1::Pod>("default", "stat-pod").metadata.deletionTimestamp);
  pod.status.phase = "Failed";
  manager.terminated(pod);
  manager.waitIdle();
  EXPECT_THROW(client_.get<corev1::Pod>("default", "stat-pod"), client::ApiError);
  manager.stop();
}

TEST_F(ApiSourcesTest, StatusManagerLeavesANewPodOfTheSameNameAlone) {
  auto old = client_.create(boundPod("reborn", "node-st"));
  client_.remove<corev1::Pod>("default", "reborn", {.gracePeriodSeconds = 0});
  auto fresh = client_.create(boundPod("reborn", "node-st"));
  StatusManager manager(client_, std::chrono::milliseconds(50));
  manager.start();
  old.status.phase = "Failed";
  manager.terminated(old);
  manager.waitIdle();
  const auto stored = client_.get<corev1::Pod>("default", "reborn");
  EXPECT_EQ(stored.metadata.uid, fresh.metadata.uid);
  EXPECT_NE(stored.status.phase, "Failed");
  manager.stop();
}

TEST_F(ApiSourcesTest, ConfigSourceReadsConfigMapsAndSecretsWithAShortCache) {
  corev1::ConfigMap cm;
  cm.metadata.name = "settings";
  cm.metadata.namespace_ = "default";
  cm.data["greeting"] = "hello";
  client_.create(cm);
  corev1::Secret secret;
  secret.metadata.name = "creds";
  secret.metadata.namespace_ = "default";
  secret.data["password"] = std::string("s3cr\0t", 6);
  client_.create(secret);

  kite::testing::FakeClock clock;
  ApiConfigSource source(client_, clock, nullptr, "", std::chrono::seconds(5));
  EXPECT_EQ(source.configMap("default", "settings")->at("greeting"), "hello");
  EXPECT_EQ(source.secret("default", "creds")->at("password"), std::string("s3cr\0t", 6));
  EXPECT_FALSE(source.configMap("default", "missing").has_value());
  const auto fetched = source.fetches();

  cm.data["greeting"] = "bonjour";
  client_.update(cm);
  EXPECT_EQ(source.configMap("default", "settings")->at("greeting"), "hello");  // cached
  EXPECT_EQ(source.fetches(), fetched);
  clock.advance(std::chrono::seconds(6));
  EXPECT_EQ(source.configMap("default", "settings")->at("greeting"), "bonjour");
}

TEST_F(ApiSourcesTest, ConfigSourceIssuesPodBoundTokensAndReusesThem) {
  const auto pod = client_.create(boundPod("token-pod", "node-tok"));
  corev1::ServiceAccount account;  // no controllers here to create "default"
  account.metadata.name = "default";
  account.metadata.namespace_ = "default";
  client_.create(account);
  kite::testing::FakeClock clock;
  ApiConfigSource source(client_, clock, nullptr);
  ConfigSource::TokenRequest request;
  request.ns = "default";
  request.serviceAccountName = "default";
  request.podName = pod.metadata.name;
  request.podUid = pod.metadata.uid;
  request.expirationSeconds = 3600;
  const auto token = source.serviceAccountToken(request);
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(std::count(token->begin(), token->end(), '.'), 2) << "a JWT";
  const auto fetched = source.fetches();
  EXPECT_EQ(source.serviceAccountToken(request), token);
  EXPECT_EQ(source.fetches(), fetched);
  // Past 80% of its life: a new one.
  clock.advance(std::chrono::minutes(49));
  EXPECT_TRUE(source.serviceAccountToken(request).has_value());
  EXPECT_EQ(source.fetches(), fetched + 1);
}

TEST_F(ApiSourcesTest, EventsAreWrittenAndAggregated) {
  const auto pod = client_.create(boundPod("evented", "node-ev"));
  kite::testing::FakeClock clock;
  EventRecorderOptions options;
  options.burst = 3;
  EventRecorder recorder(client_, "node-ev", clock, options);
  recorder.start();
  recorder.record(pod,
                  {"Normal", "Pulling", "Pulling image \"busybox:1.35\"", "spec.containers{app}"});
  recorder.record(pod, {"Warning", "BackOff", "Back-off restarting failed container app",
                        "spec.containers{app}"});
  recorder.record(pod, {"Warning", "BackOff", "Back-off restarting failed container app",
                        "spec.containers{app}"});
  recorder.record(pod, {"Warning", "BackOff", "Back-off restarting failed container app",
                        "spec.containers{app}"});  // over the burst: dropped
  recorder.waitIdle();
  std::map<std::string, corev1::Event> byReason;
  for (const auto& e : client_.list<corev1::Event>("default").items) {
    if (e.involvedObject.uid == pod.metadata.uid) byReason[e.reason] = e;
  }
  ASSERT_EQ(byReason.size(), 2U);
  const auto& pulling = byReason.at("Pulling");
  EXPECT_EQ(pulling.type, "Normal");
  EXPECT_EQ(pulling.count, 1);
  EXPECT_EQ(pulling.source.component, "kubelet");
  EXPECT_EQ(pulling.source.host, "node-ev");
  EXPECT_EQ(pulling.involvedObject.kind, "Pod");
  EXPECT_EQ(pulling.involvedObject.name, "evented");
  EXPECT_EQ(pulling.involvedObject.fieldPath, "spec.containers{app}");
  EXPECT_EQ(pulling.metadata.name.rfind("evented.", 0), 0U);
  EXPECT_EQ(byReason.at("BackOff").count, 2);
  EXPECT_EQ(byReason.at("BackOff").type, "Warning");
  recorder.stop();
}

TEST_F(ApiSourcesTest, MirrorPodsFollowTheStaticPods) {
  corev1::Node node;
  node.metadata.name = "node-mirror";
  const auto createdNode = client_.create(node);
  corev1::Pod staticPod = boundPod("web-node-mirror", "node-mirror");
  staticPod.metadata.uid = "static-uid-1";
  staticPod.metadata.annotations["kubernetes.io/config.hash"] = "static-uid-1";
  staticPod.metadata.annotations["kubernetes.io/config.source"] = "file";
  MirrorPods mirrors(client_, "node-mirror");
  mirrors.setStaticPods({staticPod});
  mirrors.reconcile();
  auto mirror = client_.get<corev1::Pod>("default", "web-node-mirror");
  EXPECT_EQ(mirror.metadata.annotations.at("kubernetes.io/config.mirror"), "static-uid-1");
  EXPECT_EQ(mirror.metadata.annotations.at("kubernetes.io/config.source"), "file");
  ASSERT_EQ(mirror.metadata.ownerReferences.size(), 1U);
  EXPECT_EQ(mirror.metadata.ownerReferences[0].kind, "Node");
  EXPECT_EQ(mirror.metadata.ownerReferences[0].uid, createdNode.metadata.uid);
  EXPECT_EQ(mirrors.mirrorUid("static-uid-1"), mirror.metadata.uid);

  // Unchanged: kept. A new version of the static pod: replaced.
  mirrors.reconcile();
  EXPECT_EQ(client_.get<corev1::Pod>("default", "web-node-mirror").metadata.uid,
            mirror.metadata.uid);
  staticPod.metadata.uid = "static-uid-2";
  staticPod.metadata.annotations["kubernetes.io/config.hash"] = "static-uid-2";
  mirrors.setStaticPods({staticPod});
  mirrors.reconcile();
  mirror = client_.get<corev1::Pod>("default", "web-node-mirror");
  EXPECT_EQ(mirror.metadata.annotations.at("kubernetes.io/config.mirror"), "static-uid-2");

  // The static pod is gone: so is its mirror pod.
  mirrors.setStaticPods({});
  mirrors.reconcile();
  EXPECT_THROW(client_.get<corev1::Pod>("default", "web-node-mirror"), client::ApiError);
}

TEST_F(ApiSourcesTest, ClaimsResolveToTheirLocalVolumeOnMatchingNodes) {
  corev1::Node node;
  node.metadata.name = "node-pv";
  node.metadata.labels["kubernetes.io/hostname"] = "node-pv";
  client_.create(node);
  auto makeVolume = [&](const std::string& name, const std::string& host) {
    corev1::PersistentVolume pv;
    pv.metadata.name = name;
    pv.spec.capacity["storage"] = api::Quantity::parse("1Gi");
    pv.spec.accessModes = {"ReadWriteOnce"};
    pv.spec.local.emplace();
    pv.spec.local->path = "/srv/" + name;
    corev1::NodeSelectorRequirement r;
    r.key = "kubernetes.io/hostname";
    r.operator_ = "In";
    r.values = {host};
    corev1::NodeSelectorTerm term;
    term.matchExpressions.push_back(r);
    pv.spec.nodeAffinity.emplace();
    pv.spec.nodeAffinity->required.emplace();
    pv.spec.nodeAffinity->required->nodeSelectorTerms.push_back(term);
    client_.create(pv);
  };
  auto makeClaim = [&](const std::string& name, const std::string& volume, bool bound) {
    corev1::PersistentVolumeClaim claim;
    claim.metadata.name = name;
    claim.metadata.namespace_ = "default";
    claim.spec.accessModes = {"ReadWriteOnce"};
    claim.spec.resources.requests["storage"] = api::Quantity::parse("1Gi");
    claim.spec.volumeName = volume;
    auto created = client_.create(claim);
    if (bound) {  // no controllers here to bind it
      created.status.phase = "Bound";
      client_.updateStatus(created);
    }
  };
  makeVolume("pv-here", "node-pv");
  makeVolume("pv-elsewhere", "other-node");
  makeClaim("data", "pv-here", true);
  makeClaim("far", "pv-elsewhere", true);
  makeClaim("pending", "", false);

  kite::testing::FakeClock clock;
  ApiConfigSource source(client_, clock, nullptr, "node-pv");
  EXPECT_EQ(source.claimPath("default", "data"), "/srv/pv-here");
  try {
    source.claimPath("default", "far");
    ADD_FAILURE() << "a volume of another node was accepted";
  } catch (const ContainerConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("node affinity"), std::string::npos) << e.what();
  }
  try {
    source.claimPath("default", "pending");
    ADD_FAILURE() << "an unbound claim was accepted";
  } catch (const ContainerConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("non-bound phase"), std::string::npos) << e.what();
  }
  EXPECT_THROW(source.claimPath("default", "missing"), ContainerConfigError);
}

TEST(NodeAffinity, TermsAreOredAndRequirementsAnded) {
  corev1::NodeSelector selector;
  corev1::NodeSelectorTerm zoneAndSsd;
  zoneAndSsd.matchExpressions = {{"zone", "In", {"a", "b"}}, {"disk", "Exists", {}}};
  corev1::NodeSelectorTerm byName;
  byName.matchFields = {{"metadata.name", "In", {"n9"}}};
  corev1::NodeSelectorTerm bigCpu;
  bigCpu.matchExpressions = {{"cpus", "Gt", {"8"}}, {"gpu", "DoesNotExist", {}}};
  selector.nodeSelectorTerms = {zoneAndSsd, byName, bigCpu};
  EXPECT_TRUE(nodeSelectorMatches(selector, {{"zone", "a"}, {"disk", "ssd"}}, "n1"));
  EXPECT_FALSE(nodeSelectorMatches(selector, {{"zone", "c"}, {"disk", "ssd"}}, "n1"));
  EXPECT_FALSE(nodeSelectorMatches(selector, {{"zone", "a"}}, "n1"));
  EXPECT_TRUE(nodeSelectorMatches(selector, {}, "n9"));
  EXPECT_TRUE(nodeSelectorMatches(selector, {{"cpus", "16"}}, "n1"));
  EXPECT_FALSE(nodeSelectorMatches(selector, {{"cpus", "16"}, {"gpu", "1"}}, "n1"));
  EXPECT_FALSE(nodeSelectorMatches(selector, {{"cpus", "x"}}, "n1"));
  EXPECT_FALSE(nodeSelectorMatches(corev1::NodeSelector{}, {{"zone", "a"}}, "n1"));
}

TEST(ServiceEnv, VariablesAsUpstreamNamesThem) {
  corev1::Service svc;
  svc.metadata.name = "my-db";
  svc.metadata.namespace_ = "shop";
  svc.spec.clusterIP = "10.43.0.7";
  corev1::ServicePort a;
  a.name = "sql";
  a.port = 5432;
  a.protocol = "TCP";
  corev1::ServicePort b;
  b.name = "metrics-udp";
  b.port = 9000;
  b.protocol = "UDP";
  svc.spec.ports = {a, b};
  corev1::Service headless = svc;
  headless.metadata.name = "headless";
  headless.spec.clusterIP = "None";
  const auto env = serviceEnvVars({svc, headless});
  const std::map<std::string, std::string> vars(env.begin(), env.end());
  const std::map<std::string, std::string> want = {
      {"MY_DB_SERVICE_HOST", "10.43.0.7"},       {"MY_DB_SERVICE_PORT", "5432"},
      {"MY_DB_SERVICE_PORT_SQL", "5432"},        {"MY_DB_SERVICE_PORT_METRICS_UDP", "9000"},
      {"MY_DB_PORT", "tcp://10.43.0.7:5432"},    {"MY_DB_PORT_5432_TCP", "tcp://10.43.0.7:5432"},
      {"MY_DB_PORT_5432_TCP_PROTO", "tcp"},      {"MY_DB_PORT_5432_TCP_PORT", "5432"},
      {"MY_DB_PORT_5432_TCP_ADDR", "10.43.0.7"}, {"MY_DB_PORT_9000_UDP", "udp://10.43.0.7:9000"},
      {"MY_DB_PORT_9000_UDP_PROTO", "udp"},      {"MY_DB_PORT_9000_UDP_PORT", "9000"},
      {"MY_DB_PORT_9000_UDP_ADDR", "10.43.0.7"},
  };
  EXPECT_EQ(vars, want);
}

TEST(ServiceEnv, PodSeesItsNamespaceWithLinksAndTheApiServerAlways) {
  auto make = [](const std::string& ns, const std::string& name) {
    auto s = std::make_shared<corev1::Service>();
    s->metadata.namespace_ = ns;
    s->metadata.name = name;
    s->spec.clusterIP = "10.43.0.1";
    return std::shared_ptr<const corev1::Service>(s);
  };
  const std::vector<std::shared_ptr<const corev1::Service>> all = {
      make("default", "kubernetes"), make("shop", "web"), make("other", "db")};
  auto names = [](const std::vector<corev1::Service>& services) {
    std::vector<std::string> out;
    for (const auto& s : services) out.push_back(s.metadata.namespace_ + "/" + s.metadata.name);
    return out;
  };
  EXPECT_EQ(names(servicesVisibleTo(all, "shop", true)),
            (std::vector<std::string>{"default/kubernetes", "shop/web"}));
  EXPECT_EQ(names(servicesVisibleTo(all, "shop", false)),
            (std::vector<std::string>{"default/kubernetes"}));
}

}  // namespace
}  // namespace kite::kubelet
