// The client against a real `kite server --disable-agent`.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "kite/api/coordination/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/client/client.h"
#include "kite/client/informer.h"
#include "kite/client/leader_election.h"
#include "kite/client/shared_informers.h"
#include "test_server.h"

namespace kite::client {
namespace {

using namespace std::chrono_literals;
using api::core::v1::ConfigMap;
using api::core::v1::Namespace;
using api::core::v1::Pod;

// Polls cond (a test helper, not an assertion on timing: the limit only ends a hung test).
template <class F>
bool eventually(F cond, std::chrono::seconds limit = 30s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

ConfigMap configMap(const std::string& ns, const std::string& name,
                    std::map<std::string, std::string> labels = {}) {
  ConfigMap cm;
  cm.metadata.namespace_ = ns;
  cm.metadata.name = name;
  cm.metadata.labels = std::move(labels);
  cm.data["key"] = "value";
  return cm;
}

class ClientServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<testing::TestServer>();
    server_->start();
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override { client_ = std::make_unique<Client>(server_->config()); }

  // A fresh namespace per test, so tests do not see each other's objects.
  std::string freshNamespace(const std::string& base) {
    static std::atomic<int> counter{0};
    Namespace ns;
    ns.metadata.name = base + "-" + std::to_string(counter++);
    return client_->create(ns).metadata.name;
  }

  static std::unique_ptr<testing::TestServer> server_;
  std::unique_ptr<Client> client_;
};

std::unique_ptr<testing::TestServer> ClientServerTest::server_;

TEST_F(ClientServerTest, CreateGetUpdateDelete) {
  const std::string ns = freshNamespace("crud");
  const ConfigMap created = client_->create(configMap(ns, "one"));
  EXPECT_EQ(created.metadata.name, "one");
  EXPECT_EQ(created.kind, "ConfigMap");
  EXPECT_FALSE(created.metadata.uid.empty());
  EXPECT_FALSE(created.metadata.resourceVersion.empty());

  ConfigMap got = client_->get<ConfigMap>(ns, "one");
  EXPECT_EQ(got.data.at("key"), "value");

  got.data["key"] = "changed";
  const ConfigMap updated = client_->update(got);
  EXPECT_EQ(updated.data.at("key"), "changed");
  EXPECT_NE(updated.metadata.resourceVersion, created.metadata.resourceVersion);

  // The stale resourceVersion of `got` is a conflict now.
  got.data["key"] = "again";
  try {
    client_->update(got);
    FAIL() << "stale update accepted";
  } catch (const ApiError& e) {
    EXPECT_TRUE(e.isConflict()) << e.what();
    EXPECT_EQ(e.code(), 409);
  }

  try {
    client_->create(configMap(ns, "one"));
    FAIL() << "duplicate create accepted";
  } catch (const ApiError& e) {
    EXPECT_TRUE(e.isAlreadyExists()) << e.what();
  }

  // A precondition on another uid fails; on the right one it deletes.
  api::meta::v1::DeleteOptions wrongUid;
  wrongUid.preconditions.emplace();
  wrongUid.preconditions->uid = "00000000-0000-0000-0000-000000000000";
  try {
    client_->remove<ConfigMap>(ns, "one", wrongUid);
    FAIL() << "delete with a wrong uid precondition accepted";
  } catch (const ApiError& e) {
    EXPECT_TRUE(e.isConflict()) << e.what();
  }
  api::meta::v1::DeleteOptions rightUid;
  rightUid.preconditions.emplace();
  rightUid.preconditions->uid = created.metadata.uid;
  rightUid.gracePeriodSeconds = 0;
  rightUid.propagationPolicy = "Background";
  client_->remove<ConfigMap>(ns, "one", rightUid);

  try {
    client_->get<ConfigMap>(ns, "one");
    FAIL() << "deleted object still there";
  } catch (const ApiError& e) {
    EXPECT_TRUE(e.isNotFound()) << e.what();
    EXPECT_EQ(e.status().details ? e.status().details->name : "", "one");
  }
  try {
    client_->remove<ConfigMap>(ns, "one");
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_TRUE(e.isNotFound()) << e.what();
  }
}

TEST_F(ClientServerTest, Patches) {
  const std::string ns = freshNamespace("patch");
  client_->create(configMap(ns, "p", {{"a", "1"}}));
  auto merged = client_->patch<ConfigMap>(ns, "p", PatchType::Merge,
                                          R"({"metadata":{"labels":{"b":"2"}},"data":{"m":"x"}})");
  EXPECT_EQ(merged.metadata.labels.at("a"), "1");
  EXPECT_EQ(merged.metadata.labels.at("b"), "2");
  EXPECT_EQ(merged.data.at("m"), "x");
  auto strategic = client_->patch<ConfigMap>(ns, "p", PatchType::Strategic,
                                             R"({"metadata":{"labels":{"a":null}}})");
  EXPECT_FALSE(strategic.metadata.labels.contains("a"));
  auto json = client_->patch<ConfigMap>(ns, "p", PatchType::Json,
                                        R"([{"op":"replace","path":"/data/key","value":"json"}])");
  EXPECT_EQ(json.data.at("key"), "json");
  try {
    client_->patch<ConfigMap>(ns, "p", PatchType::Json,
                              R"([{"op":"test","path":"/data/key","value":"nope"}])");
    FAIL() << "failed JSON patch test accepted";
  } catch (const ApiError& e) {
    EXPECT_GE(e.code(), 400) << e.what();
  }
  try {
    client_->patch<ConfigMap>(ns, "missing", PatchType::Merge, "{}");
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_TRUE(e.isNotFound()) << e.what();
  }
}

TEST_F(ClientServerTest, UpdateStatusOfAPod) {
  const std::string ns = freshNamespace("status");
  Pod pod;
  pod.metadata.namespace_ = ns;
  pod.metadata.name = "web";
  pod.spec.containers.emplace_back();
  pod.spec.containers.back().name = "c";
  pod.spec.containers.back().image = "busybox";
  Pod created = client_->create(pod);
  created.status.phase = api::core::v1::PodPhase::Running;
  created.status.podIP = "10.42.0.5";
  created.spec.nodeName = "ignored-by-status";
  const Pod after = client_->updateStatus(created);
  EXPECT_EQ(after.status.phase, api::core::v1::PodPhase::Running);
  EXPECT_EQ(after.status.podIP, "10.42.0.5");
  // The status subresource leaves the spec alone.
  EXPECT_EQ(client_->get<Pod>(ns, "web").spec.nodeName, "");
}

TEST_F(ClientServerTest, SelectorsAndPaging) {
  const std::string ns = freshNamespace("list");
  for (int i = 0; i < 7; ++i) {
    client_->create(configMap(ns, "cm-" + std::to_string(i), {{"parity", i % 2 ? "odd" : "even"}}));
  }
  EXPECT_EQ(client_->list<ConfigMap>(ns).items.size(), 7U);
  const auto odd = client_->list<ConfigMap>(ns, {.labelSelector = "parity=odd"});
  EXPECT_EQ(odd.items.size(), 3U);
  for (const auto& cm : odd.items) EXPECT_EQ(cm.metadata.labels.at("parity"), "odd");
  EXPECT_EQ(client_->list<ConfigMap>(ns, {.labelSelector = "parity in (odd,even),parity!=odd"})
                .items.size(),
            4U);
  const auto byName = client_->list<ConfigMap>(ns, {.fieldSelector = "metadata.name=cm-3"});
  ASSERT_EQ(byName.items.size(), 1U);
  EXPECT_EQ(byName.items[0].metadata.name, "cm-3");

  // One page of 2, with a continue token; list() follows them all.
  const auto page = client_->listPage<ConfigMap>(ns, {.limit = 2});
  EXPECT_EQ(page.items.size(), 2U);
  EXPECT_FALSE(page.continue_.empty());
  const auto all = client_->list<ConfigMap>(ns, {.limit = 2});
  ASSERT_EQ(all.items.size(), 7U);
  std::set<std::string> names;
  for (const auto& cm : all.items) names.insert(cm.metadata.name);
  EXPECT_EQ(names.size(), 7U);
  EXPECT_FALSE(all.resourceVersion.empty());
  const auto oddPaged = client_->list<ConfigMap>(ns, {.labelSelector = "parity=odd", .limit = 1});
  EXPECT_EQ(oddPaged.items.size(), 3U);

  // Across namespaces: at least ours.
  EXPECT_GE(client_->list<ConfigMap>("", {.labelSelector = "parity=odd"}).items.size(), 3U);
}

TEST_F(ClientServerTest, WatchDeliversChangesInOrder) {
  const std::string ns = freshNamespace("watch");
  const auto list = client_->list<ConfigMap>(ns);
  auto watch = client_->watch<ConfigMap>(
      ns, {.resourceVersion = list.resourceVersion, .allowWatchBookmarks = true});
  ConfigMap cm = client_->create(configMap(ns, "w"));
  cm.data["key"] = "2";
  client_->update(cm);
  client_->remove<ConfigMap>(ns, "w");

  std::vector<std::pair<EventType, std::string>> seen;
  while (seen.size() < 3) {
    auto e = watch->next(30s);
    ASSERT_TRUE(e.has_value()) << "watch ended early";
    if (e->type == EventType::Bookmark) continue;
    seen.emplace_back(e->type, e->object.data.count("key") ? e->object.data.at("key") : "");
    EXPECT_EQ(e->object.metadata.name, "w");
  }
  EXPECT_EQ(seen[0], std::make_pair(EventType::Added, std::string("value")));
  EXPECT_EQ(seen[1], std::make_pair(EventType::Modified, std::string("2")));
  EXPECT_EQ(seen[2].first, EventType::Deleted);
}

TEST_F(ClientServerTest, WatchWithoutResourceVersionStartsWithTheCurrentObjects) {
  const std::string ns = freshNamespace("watch0");
  client_->create(configMap(ns, "existing"));
  auto watch = client_->watch<ConfigMap>(ns);
  auto e = watch->next(30s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->type, EventType::Added);
  EXPECT_EQ(e->object.metadata.name, "existing");
}

TEST_F(ClientServerTest, WatchCancelledFromAnotherThread) {
  const std::string ns = freshNamespace("cancel");
  auto watch = client_->watch<ConfigMap>(
      ns, {.resourceVersion = client_->list<ConfigMap>(ns).resourceVersion});
  std::optional<WatchEvent<ConfigMap>> got;
  std::thread reader([&] { got = watch->next(); });  // blocks: nothing happens in ns
  std::this_thread::sleep_for(100ms);
  watch->stop();  // returns once the stream has ended
  reader.join();
  EXPECT_FALSE(got.has_value());
  EXPECT_TRUE(watch->closed());
  EXPECT_EQ(watch->error(), nullptr);
}

TEST_F(ClientServerTest, WatchOfAnUnknownResourceVersionIsAnErrorEvent) {
  // A resourceVersion far in the future: the server refuses it (upstream: 504 Timeout "Too large
  // resource version" after a wait, kite at once); either way it reaches the caller as Error.
  const std::string ns = freshNamespace("badrv");
  auto watch = client_->watch<ConfigMap>(ns, {.resourceVersion = "not-a-number"});
  auto e = watch->next(30s);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->type, EventType::Error);
  EXPECT_GE(e->status.code, 400);
  EXPECT_FALSE(watch->next(30s).has_value());
  EXPECT_TRUE(watch->closed());
}

TEST_F(ClientServerTest, ConnectionsAreReused) {
  Client c(server_->config());
  for (int i = 0; i < 20; ++i) c.getRaw("/api/v1/namespaces/default");
  EXPECT_EQ(c.transport().connectionsOpened(), 1U);
  EXPECT_EQ(c.transport().idleConnections(), 1U);
}

TEST_F(ClientServerTest, ServerCertificateIsCheckedAgainstTheConfiguredCa) {
  RestConfig wrong = server_->config();
  wrong.caPem.clear();  // the system's CAs do not sign kite's serving certificate
  Client c(wrong);
  EXPECT_THROW(c.getRaw("/api"), TransportError);

  RestConfig wrongName = server_->config();
  wrongName.tlsServerName = "not-in-the-certificate.example";
  Client d(wrongName);
  EXPECT_THROW(d.getRaw("/api"), TransportError);
}

TEST_F(ClientServerTest, WithoutCredentialsTheServerRefuses) {
  RestConfig anonymous = server_->config();
  anonymous.clientCertificatePem.clear();
  anonymous.clientKeyPem.clear();
  Client c(anonymous);
  try {
    c.getRaw("/api/v1/namespaces/default/configmaps");
    FAIL() << "anonymous list accepted";
  } catch (const ApiError& e) {
    EXPECT_TRUE(e.isUnauthorized() || e.isForbidden()) << e.what();
  }
}

TEST_F(ClientServerTest, RawCalls) {
  const std::string body = client_->getRaw("/api");
  EXPECT_NE(body.find("APIVersions"), std::string::npos);
  const HttpResponse r =
      client_->request({.method = "GET", .target = "/api/v1/namespaces/nope-nope"});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(statusFromHttp(r.status, r.body).reason, "NotFound");
}

TEST_F(ClientServerTest, InformerSyncsAndFollowsChanges) {
  const std::string ns = freshNamespace("inf");
  client_->create(configMap(ns, "a", {{"role", "x"}}));
  client_->create(configMap(ns, "b", {{"role", "y"}}));

  Informer<ConfigMap> informer(*client_, ns, {.pageSize = 1});
  informer.addIndexer("role", [](const ConfigMap& cm) {
    const auto it = cm.metadata.labels.find("role");
    return it == cm.metadata.labels.end() ? std::vector<std::string>{}
                                          : std::vector<std::string>{it->second};
  });
  std::mutex m;
  std::vector<std::string> events;
  informer.addEventHandler({
      .onAdd =
          [&](const ConfigMap& cm) {
            std::lock_guard lock(m);
            events.push_back("add " + cm.metadata.name);
          },
      .onUpdate =
          [&](const ConfigMap&, const ConfigMap& cm) {
            std::lock_guard lock(m);
            events.push_back("update " + cm.metadata.name);
          },
      .onDelete =
          [&](const ConfigMap& cm) {
            std::lock_guard lock(m);
            events.push_back("delete " + cm.metadata.name);
          },
  });
  EXPECT_FALSE(informer.hasSynced());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(30s));
  EXPECT_EQ(informer.cache().size(), 2U);
  ASSERT_NE(informer.cache().get(ns, "a"), nullptr);
  EXPECT_EQ(informer.cache().byIndex("role", "y").size(), 1U);
  EXPECT_EQ(informer.cache().list(ns, api::labels::Selector::parse("role=x")).size(), 1U);

  ConfigMap a = client_->get<ConfigMap>(ns, "a");
  a.metadata.labels["role"] = "y";
  client_->update(a);
  client_->create(configMap(ns, "c"));
  client_->remove<ConfigMap>(ns, "b");
  ASSERT_TRUE(eventually([&] {
    return informer.cache().get(ns, "b") == nullptr && informer.cache().get(ns, "c") != nullptr &&
           informer.cache().byIndex("role", "y").size() == 1 &&
           informer.cache().byIndex("role", "x").empty();
  }));
  EXPECT_EQ(informer.cache().byIndex("role", "y")[0]->metadata.name, "a");
  informer.stop();
  std::lock_guard lock(m);
  const std::vector<std::string> want = {"add a", "add b", "update a", "add c", "delete b"};
  EXPECT_EQ(events, want);
}

TEST_F(ClientServerTest, InformerResync) {
  const std::string ns = freshNamespace("resync");
  client_->create(configMap(ns, "r"));
  Informer<ConfigMap> informer(*client_, ns, {.resyncPeriod = 50ms});
  std::atomic<int> updates{0};
  informer.addEventHandler({.onUpdate = [&](const ConfigMap& o, const ConfigMap& n) {
    if (o.metadata.resourceVersion == n.metadata.resourceVersion) ++updates;
  }});
  informer.start();
  ASSERT_TRUE(informer.waitForSync(30s));
  EXPECT_TRUE(eventually([&] { return updates >= 2; }));
}

// Every user of a kind gets the one informer of the factory: one cache, one watch. It runs
// from the first user's acquire to the last user's release; a second indexer of a name
// keeps the first.
TEST_F(ClientServerTest, SharedInformersServeEveryUserFromOneInformer) {
  const std::string ns = freshNamespace("shared");
  client_->create(configMap(ns, "one", {{"role", "x"}}));
  SharedInformers informers(*client_);
  Informer<ConfigMap>& first = informers.get<ConfigMap>();
  Informer<ConfigMap>& second = informers.get<ConfigMap>();
  EXPECT_EQ(&first, &second);
  informers.get<Namespace>();
  EXPECT_EQ(informers.size(), 2U);

  first.addIndexer("role", [](const ConfigMap& cm) {
    return std::vector<std::string>{cm.metadata.labels.contains("role") ? "labelled" : "plain"};
  });
  second.addIndexer("role", [](const ConfigMap&) { return std::vector<std::string>{"other"}; });
  std::atomic<int> firstAdds{0};
  std::atomic<int> secondAdds{0};
  first.addEventHandler({.onAdd = [&](const ConfigMap& cm) {
    if (cm.metadata.namespace_ == ns) ++firstAdds;
  }});
  second.addEventHandler({.onAdd = [&](const ConfigMap& cm) {
    if (cm.metadata.namespace_ == ns) ++secondAdds;
  }});

  first.acquire();
  second.acquire();
  ASSERT_TRUE(first.waitForSync(30s));
  const auto labelled = first.cache().byIndex("role", "labelled");
  EXPECT_TRUE(std::any_of(labelled.begin(), labelled.end(), [&](const auto& cm) {
    return cm->metadata.namespace_ == ns && cm->metadata.name == "one";
  }));
  EXPECT_TRUE(second.cache().byIndex("role", "other").empty());
  EXPECT_TRUE(eventually([&] { return firstAdds == 1 && secondAdds == 1; }));

  // One user leaves: the informer goes on for the other.
  first.release();
  client_->create(configMap(ns, "two"));
  EXPECT_TRUE(eventually([&] { return second.cache().get(ns, "two") != nullptr; }));
  EXPECT_EQ(secondAdds, 2);

  // The last one leaves: nothing more arrives.
  second.release();
  client_->create(configMap(ns, "three"));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(second.cache().get(ns, "three"), nullptr);
}

TEST(ClientRestartTest, InformerRecoversAfterTheServerRestarts) {
  testing::TestServer server;
  server.start();
  Client client(server.config());
  Namespace nsObj;
  nsObj.metadata.name = "restart";
  client.create(nsObj);
  client.create(configMap("restart", "before"));
  client.create(configMap("restart", "doomed"));

  Informer<ConfigMap> informer(client, "restart", {.backoffInitial = 100ms, .backoffMax = 1s});
  informer.start();
  ASSERT_TRUE(informer.waitForSync(30s));
  EXPECT_EQ(informer.cache().size(), 2U);

  server.restart();
  Client after(server.config());
  after.create(configMap("restart", "after"));
  after.remove<ConfigMap>("restart", "doomed");
  EXPECT_TRUE(eventually([&] {
    return informer.cache().get("restart", "after") != nullptr &&
           informer.cache().get("restart", "doomed") == nullptr &&
           informer.cache().get("restart", "before") != nullptr;
  })) << "cache has "
      << informer.cache().size() << " objects";

  // Down for a while: the informer keeps its cache, then lists again.
  server.stop();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(informer.cache().size(), 2U);
  server.start();
  Client third(server.config());
  third.create(configMap("restart", "third"));
  EXPECT_TRUE(eventually([&] { return informer.cache().get("restart", "third") != nullptr; }));
  EXPECT_GE(informer.listCount(), 2U);
}

TEST_F(ClientServerTest, LeaderElectionStepByStep) {
  const std::string ns = freshNamespace("lease");
  LeaderElectionConfig base{.leaseNamespace = ns, .leaseName = "ctl"};
  LeaderElectionConfig ca = base;
  ca.identity = "a";
  LeaderElectionConfig cb = base;
  cb.identity = "b";
  LeaderElector a(*client_, ca);
  LeaderElector b(*client_, cb);
  EXPECT_TRUE(a.tryAcquireOrRenew());   // creates the lease
  EXPECT_FALSE(b.tryAcquireOrRenew());  // held and fresh
  EXPECT_EQ(b.leader(), "a");
  EXPECT_TRUE(a.tryAcquireOrRenew());  // renews
  auto lease = client_->get<api::coordination::v1::Lease>(ns, "ctl");
  EXPECT_EQ(lease.spec.holderIdentity, "a");
  EXPECT_EQ(lease.spec.leaseDurationSeconds, 15);
  EXPECT_TRUE(lease.spec.renewTime.has_value());
  EXPECT_FALSE(b.release());  // not b's to release
  EXPECT_TRUE(a.release());
  EXPECT_TRUE(b.tryAcquireOrRenew());  // released: taken at once
  lease = client_->get<api::coordination::v1::Lease>(ns, "ctl");
  EXPECT_EQ(lease.spec.holderIdentity, "b");
  EXPECT_FALSE(a.tryAcquireOrRenew());
}

// A clock the test moves: expiry is judged on the candidate's own clock.
class ManualClock final : public base::Clock {
 public:
  Monotonic now() const override { return start_ + offset_.load(); }
  Wall wallNow() const override { return std::chrono::system_clock::now() + offset_.load(); }
  void advance(std::chrono::seconds d) { offset_ = offset_.load() + d; }

 private:
  Monotonic start_ = std::chrono::steady_clock::now();
  std::atomic<std::chrono::steady_clock::duration> offset_{};
};

TEST_F(ClientServerTest, LeaderElectionTakesOverAnExpiredLease) {
  const std::string ns = freshNamespace("expire");
  ManualClock clock;
  LeaderElector a(*client_, {.leaseNamespace = ns, .leaseName = "ctl", .identity = "a"});
  LeaderElector b(*client_, {.leaseNamespace = ns, .leaseName = "ctl", .identity = "b"}, clock);
  ASSERT_TRUE(a.tryAcquireOrRenew());
  EXPECT_FALSE(b.tryAcquireOrRenew());
  clock.advance(16s);  // a did not renew for longer than leaseDuration, as b sees it
  EXPECT_TRUE(b.tryAcquireOrRenew());
  const auto lease = client_->get<api::coordination::v1::Lease>(ns, "ctl");
  EXPECT_EQ(lease.spec.holderIdentity, "b");
  EXPECT_EQ(lease.spec.leaseTransitions, 1);
  EXPECT_FALSE(a.tryAcquireOrRenew());  // a sees b's fresh record
}

TEST_F(ClientServerTest, TwoElectorsNeverLeadAtOnce) {
  const std::string ns = freshNamespace("elect");
  std::atomic<int> leaders{0};
  std::atomic<bool> overlap{false};
  std::atomic<int> aStarts{0};
  std::atomic<int> bStarts{0};
  const auto config = [&](const std::string& id, std::atomic<int>& starts) {
    LeaderElectionConfig c;
    c.leaseNamespace = ns;
    c.leaseName = "ctl";
    c.identity = id;
    c.leaseDuration = 3s;
    c.renewDeadline = 2s;
    c.retryPeriod = 200ms;
    c.onStartedLeading = [&] {
      if (++leaders > 1) overlap = true;
      ++starts;
    };
    c.onStoppedLeading = [&] { --leaders; };
    return c;
  };
  auto a = std::make_unique<LeaderElector>(*client_, config("a", aStarts));
  LeaderElector b(*client_, config("b", bStarts));
  a->start();
  ASSERT_TRUE(eventually([&] { return a->isLeader(); }));
  b.start();
  ASSERT_TRUE(eventually([&] { return b.leader() == "a"; }));
  EXPECT_FALSE(b.isLeader());
  a->stop();  // releases the lease
  EXPECT_FALSE(a->isLeader());
  ASSERT_TRUE(eventually([&] { return b.isLeader(); }));
  b.stop();
  EXPECT_FALSE(overlap);
  EXPECT_EQ(aStarts, 1);
  EXPECT_EQ(bStarts, 1);
  EXPECT_EQ(leaders, 0);
}

}  // namespace
}  // namespace kite::client
