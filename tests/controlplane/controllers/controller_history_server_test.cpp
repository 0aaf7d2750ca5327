// ControllerRevisions of DaemonSets and StatefulSets (and the DaemonSet pods' tolerations),
// kept by the real controllers against a real `kite server --disable-agent` (its own
// controllers off). The tests play the kubelet by writing pod status, and roll back as
// `kubectl rollout undo` does: a strategic-merge patch of the owner with the revision's data.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "controller_history.h"
#include "controller_history_sync.h"
#include "kite/api/apps/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/meta.h"
#include "kite/client/client.h"
#include "workload_pods.h"
#include "workload_server_fixture.h"

namespace kite::controlplane::controllers {
namespace {

using namespace std::chrono_literals;
using api::apps::v1::ControllerRevision;
using api::apps::v1::DaemonSet;
using api::apps::v1::StatefulSet;
using api::core::v1::Pod;

constexpr const char* kHashLabel = "controller-revision-hash";

// Waits 20 s by default (the other suites: 15 s): its rollouts and rollbacks go pod by pod.
struct ControllerHistorySuite : WorkloadServerSuite {
  static constexpr std::string_view kNamespacePrefix = "h";
  static constexpr std::chrono::milliseconds kTimeout = 20s;
};

class ControllerHistoryServerTest : public WorkloadServerFixture<ControllerHistorySuite> {
 protected:
  void TearDown() override {
    WorkloadServerFixture::TearDown();
    for (const auto& node : nodes_) client_->remove<api::core::v1::Node>("", node);
  }

  void makeNode(const std::string& name) {
    api::core::v1::Node node;
    node.metadata.name = name;
    node.metadata.labels["history-test"] = ns_;
    client_->create(node);
    nodes_.push_back(name);
  }

  std::vector<Pod> activePods(const std::string& selector) {
    std::vector<Pod> out;
    for (auto& p : client_->list<Pod>(ns_, {.labelSelector = selector}).items) {
      if (!p.metadata.deletionTimestamp) out.push_back(std::move(p));
    }
    return out;
  }

  // What a kubelet would report: Running and Ready.
  void markAllRunning(const std::string& selector) {
    for (auto& p : activePods(selector)) {
      if (p.status.phase == "Running") continue;
      p.status.phase = "Running";
      api::core::v1::PodCondition ready;
      ready.type = "Ready";
      ready.status = "True";
      ready.lastTransitionTime = api::Time::now();
      p.status.conditions = {ready};
      try {
        client_->updateStatus(p);
      } catch (const client::ApiError&) {
        // Deleted or changed meanwhile: the next round catches it.
      }
    }
  }

  // The revisions the object with this uid controls, by revision number.
  std::map<int64_t, ControllerRevision> revisionsOf(const std::string& uid) {
    std::map<int64_t, ControllerRevision> out;
    for (auto& r : client_->list<ControllerRevision>(ns_).items) {
      const auto* ref = api::controllerOf(r.metadata);
      if (ref != nullptr && ref->uid == uid) out[r.revision] = std::move(r);
    }
    return out;
  }

  // `kubectl rollout undo --to-revision`: the revision's data as a strategic-merge patch.
  template <class T>
  void undoTo(const std::string& name, const ControllerRevision& revision) {
    client_->patch<T>(ns_, name, client::PatchType::Strategic, revision.data.text());
  }

  static api::core::v1::PodTemplateSpec podTemplate(const std::string& app,
                                                    const std::string& image) {
    api::core::v1::PodTemplateSpec t;
    t.metadata.labels["app"] = app;
    api::core::v1::Container c;
    c.name = "main";
    c.image = image;
    t.spec.containers.push_back(c);
    return t;
  }

  std::vector<std::string> nodes_;
};

TEST_F(ControllerHistoryServerTest, DaemonSetRevisionsRolloutAndRollback) {
  makeNode(ns_ + "-a");
  makeNode(ns_ + "-b");
  DaemonSet ds;
  ds.metadata.name = "agent";
  ds.metadata.namespace_ = ns_;
  ds.spec.selector.emplace().matchLabels["app"] = "agent";
  ds.spec.template_ = podTemplate("agent", "agent:1");
  ds.spec.template_.spec.nodeSelector["history-test"] = ns_;
  // Bound pods are deleted gracefully and there is no kubelet to finish that: without a grace
  // period they go at once, so old revisions stop being live (terminating pods keep theirs).
  ds.spec.template_.spec.terminationGracePeriodSeconds = 0;
  ds = client_->create(ds);
  const std::string uid = ds.metadata.uid;

  // Revision 1, and pods labelled with its hash and the template generation.
  ASSERT_TRUE(eventually([&] { return revisionsOf(uid).size() == 1; }));
  const auto rev1 = revisionsOf(uid).at(1);
  const std::string hash1 = rev1.metadata.labels.at(kHashLabel);
  EXPECT_EQ(rev1.metadata.name, "agent-" + hash1);
  EXPECT_EQ(rev1.metadata.labels.at("app"), "agent");
  EXPECT_NE(rev1.data.text().find(R"("$patch":"replace")"), std::string::npos);
  ASSERT_TRUE(eventually([&] { return activePods("app=agent").size() == 2; }));
  for (const auto& p : activePods("app=agent")) {
    EXPECT_EQ(p.metadata.labels.at(kHashLabel), hash1);
    EXPECT_EQ(p.metadata.labels.at("pod-template-generation"), "1");
  }
  markAllRunning("app=agent");
  ASSERT_TRUE(eventually([&] {
    const auto cur = client_->get<DaemonSet>(ns_, "agent");
    return cur.status.observedGeneration == cur.metadata.generation &&
           cur.status.updatedNumberScheduled == 2 && cur.status.numberAvailable == 2;
  }));

  // A new image: revision 2; the pods roll to its hash.
  modify<DaemonSet>("agent",
                    [](DaemonSet& x) { x.spec.template_.spec.containers[0].image = "agent:2"; });
  ASSERT_TRUE(eventually([&] { return revisionsOf(uid).size() == 2; }));
  const auto rev2 = revisionsOf(uid).at(2);
  const std::string hash2 = rev2.metadata.labels.at(kHashLabel);
  EXPECT_NE(hash1, hash2);
  const auto convergedOn = [&](const std::string& hash, const std::string& image) {
    markAllRunning("app=agent");
    const auto pods = activePods("app=agent");
    const auto cur = client_->get<DaemonSet>(ns_, "agent");
    return pods.size() == 2 &&
           std::all_of(pods.begin(), pods.end(),
                       [&](const Pod& p) {
                         return p.metadata.labels.at(kHashLabel) == hash &&
                                p.spec.containers[0].image == image;
                       }) &&
           cur.status.observedGeneration == cur.metadata.generation &&
           cur.status.updatedNumberScheduled == 2 && cur.status.numberAvailable == 2;
  };
  ASSERT_TRUE(eventually([&] { return convergedOn(hash2, "agent:2"); }));
  for (const auto& p : activePods("app=agent")) {
    EXPECT_EQ(p.metadata.labels.at("pod-template-generation"), "2");
  }

  // Rollback to revision 1: no new revision, revision 1 becomes number 3.
  undoTo<DaemonSet>("agent", rev1);
  EXPECT_EQ(client_->get<DaemonSet>(ns_, "agent").spec.template_.spec.containers[0].image,
            "agent:1");
  ASSERT_TRUE(eventually([&] {
    const auto revs = revisionsOf(uid);
    return revs.size() == 2 && revs.contains(3) && revs.at(3).metadata.name == rev1.metadata.name;
  }));
  EXPECT_EQ(revisionsOf(uid).begin()->second.metadata.name, rev2.metadata.name);
  ASSERT_TRUE(eventually([&] { return convergedOn(hash1, "agent:1"); }));

  // revisionHistoryLimit 1: after two more images only one old revision is left.
  modify<DaemonSet>("agent", [](DaemonSet& x) {
    x.spec.revisionHistoryLimit = 1;
    x.spec.template_.spec.containers[0].image = "agent:4";
  });
  ASSERT_TRUE(eventually([&] { return revisionsOf(uid).contains(4); }));
  // Revision 3 (agent:1) stays while pods still run it; once they moved on it may go.
  const std::string hash4 = revisionsOf(uid).at(4).metadata.labels.at(kHashLabel);
  ASSERT_TRUE(eventually([&] { return convergedOn(hash4, "agent:4"); }));
  modify<DaemonSet>("agent",
                    [](DaemonSet& x) { x.spec.template_.spec.containers[0].image = "agent:5"; });
  ASSERT_TRUE(eventually([&] {
    markAllRunning("app=agent");
    const auto revs = revisionsOf(uid);
    return revs.size() == 2 && revs.contains(4) && revs.contains(5);
  })) <<
      [&] {
        std::string nums;
        for (const auto& [n, r] : revisionsOf(uid)) nums += std::to_string(n) + " ";
        return nums;
      }();

  // Deleting the DaemonSet takes no revision along here (no garbage collector runs in this
  // test), but they are owned by it: the real server's collector removes them.
  for (const auto& [n, r] : revisionsOf(uid)) {
    EXPECT_TRUE(r.metadata.ownerReferences.at(0).controller.value_or(false));
    EXPECT_EQ(r.metadata.ownerReferences.at(0).kind, "DaemonSet");
  }
}

TEST_F(ControllerHistoryServerTest, DaemonSetHashCollisionBumpsCollisionCount) {
  makeNode(ns_ + "-a");
  DaemonSet ds;
  ds.metadata.name = "agent";
  ds.metadata.namespace_ = ns_;
  ds.spec.selector.emplace().matchLabels["app"] = "agent";
  ds.spec.template_ = podTemplate("agent", "agent:1");
  ds.spec.template_.spec.nodeSelector["history-test"] = ns_;
  ds.spec.template_.spec.terminationGracePeriodSeconds = 0;
  ds = client_->create(ds);
  ASSERT_TRUE(eventually([&] { return revisionsOf(ds.metadata.uid).size() == 1; }));
  // Someone else's revision already has the name the next template would get.
  auto next = client_->get<DaemonSet>(ns_, "agent");
  next.spec.template_.spec.containers[0].image = "agent:2";
  const RevisionOwner owner{.apiVersion = "apps/v1",
                            .kind = "DaemonSet",
                            .meta = next.metadata,
                            .tmpl = next.spec.template_,
                            .collisionCount = std::nullopt,
                            .revisionHistoryLimit = std::nullopt};
  ControllerRevision squatter;
  squatter.metadata.name = newRevision(owner, 1).metadata.name;
  squatter.metadata.namespace_ = ns_;
  squatter.data = api::RawJson::fromTrustedText(R"({"other":true})");
  squatter.revision = 1;
  client_->create(squatter);
  // (modify: the controller writes the status meanwhile.)
  modify<DaemonSet>("agent",
                    [](DaemonSet& x) { x.spec.template_.spec.containers[0].image = "agent:2"; });
  // The controller counts the collision and names revision 2 with the new count.
  ASSERT_TRUE(eventually([&] { return revisionsOf(ds.metadata.uid).contains(2); }));
  const auto rev2 = revisionsOf(ds.metadata.uid).at(2);
  EXPECT_NE(rev2.metadata.name, squatter.metadata.name);
  EXPECT_EQ(client_->get<DaemonSet>(ns_, "agent").status.collisionCount.value_or(0), 1);
  EXPECT_EQ(client_->get<ControllerRevision>(ns_, squatter.metadata.name).data.text(),
            R"({"other":true})");
  ASSERT_TRUE(eventually([&] {
    const auto pods = activePods("app=agent");
    return pods.size() == 1 &&
           pods[0].metadata.labels.at(kHashLabel) == rev2.metadata.labels.at(kHashLabel) &&
           pods[0].spec.containers[0].image == "agent:2";
  }));
}

// Not history, but the same DaemonSet pods: upstream's daemon tolerations are added to each
// pod (not to the template, so not to the revision).
TEST_F(ControllerHistoryServerTest, DaemonSetPodsTolerateNodeProblemsWithoutTimeLimit) {
  makeNode(ns_ + "-a");
  DaemonSet ds;
  ds.metadata.name = "agent";
  ds.metadata.namespace_ = ns_;
  ds.spec.selector.emplace().matchLabels["app"] = "agent";
  ds.spec.template_ = podTemplate("agent", "agent:1");
  ds.spec.template_.spec.nodeSelector["history-test"] = ns_;
  ds.spec.template_.spec.hostNetwork = true;
  // A time-limited one of the template is replaced by the unlimited one.
  ds.spec.template_.spec.tolerations.push_back({.key = "node.kubernetes.io/not-ready",
                                                .operator_ = "Exists",
                                                .effect = "NoExecute",
                                                .tolerationSeconds = 10});
  ds = client_->create(ds);
  ASSERT_TRUE(eventually([&] { return activePods("app=agent").size() == 1; }));
  const auto pod = activePods("app=agent").front();
  std::map<std::string, std::string> got;
  for (const auto& t : pod.spec.tolerations) {
    EXPECT_FALSE(t.tolerationSeconds.has_value()) << t.key;
    EXPECT_EQ(t.operator_, "Exists") << t.key;
    got[t.key] = t.effect;
  }
  EXPECT_EQ(got, (std::map<std::string, std::string>{
                     {"node.kubernetes.io/not-ready", "NoExecute"},
                     {"node.kubernetes.io/unreachable", "NoExecute"},
                     {"node.kubernetes.io/disk-pressure", "NoSchedule"},
                     {"node.kubernetes.io/memory-pressure", "NoSchedule"},
                     {"node.kubernetes.io/pid-pressure", "NoSchedule"},
                     {"node.kubernetes.io/unschedulable", "NoSchedule"},
                     {"node.kubernetes.io/network-unavailable", "NoSchedule"}}));
  ASSERT_TRUE(eventually([&] { return revisionsOf(ds.metadata.uid).size() == 1; }));
  const auto data = revisionsOf(ds.metadata.uid).at(1).data.text();
  EXPECT_EQ(data.find("unreachable"), std::string::npos) << data;
}

TEST_F(ControllerHistoryServerTest, StatefulSetRevisionsRolloutPartitionAndRollback) {
  StatefulSet ss;
  ss.metadata.name = "web";
  ss.metadata.namespace_ = ns_;
  ss.spec.replicas = 2;
  ss.spec.serviceName = "web";
  ss.spec.selector.emplace().matchLabels["app"] = "web";
  ss.spec.template_ = podTemplate("web", "web:1");
  ss = client_->create(ss);
  const std::string uid = ss.metadata.uid;

  const auto converged = [&](const std::string& revision, const std::string& image) {
    markAllRunning("app=web");
    const auto pods = activePods("app=web");
    const auto cur = client_->get<StatefulSet>(ns_, "web");
    const auto& s = cur.status;
    return pods.size() == 2 &&
           std::all_of(pods.begin(), pods.end(),
                       [&](const Pod& p) {
                         return p.metadata.labels.at(kHashLabel) == revision &&
                                p.spec.containers[0].image == image;
                       }) &&
           s.observedGeneration == cur.metadata.generation && s.currentRevision == revision &&
           s.updateRevision == revision && s.updatedReplicas == 2 && s.currentReplicas == 2 &&
           s.readyReplicas == 2;
  };
  ASSERT_TRUE(eventually([&] { return revisionsOf(uid).size() == 1; }));
  const auto rev1 = revisionsOf(uid).at(1);
  EXPECT_EQ(rev1.metadata.name, "web-" + rev1.metadata.labels.at(kHashLabel));
  ASSERT_TRUE(eventually([&] { return converged(rev1.metadata.name, "web:1"); }));

  // A new image under partition 1: only web-1 moves; web-0 stays at the current revision,
  // even when deleted and made again.
  modify<StatefulSet>("web", [](StatefulSet& x) {
    x.spec.template_.spec.containers[0].image = "web:2";
    x.spec.updateStrategy.type = "RollingUpdate";
    x.spec.updateStrategy.rollingUpdate.emplace().partition = 1;
  });
  ASSERT_TRUE(eventually([&] { return revisionsOf(uid).size() == 2; }));
  const auto rev2 = revisionsOf(uid).at(2);
  ASSERT_TRUE(eventually([&] {
    markAllRunning("app=web");
    const auto s = client_->get<StatefulSet>(ns_, "web").status;
    return s.updateRevision == rev2.metadata.name && s.currentRevision == rev1.metadata.name &&
           s.updatedReplicas == 1 && s.currentReplicas == 1 && s.readyReplicas == 2;
  }));
  EXPECT_EQ(client_->get<Pod>(ns_, "web-1").spec.containers[0].image, "web:2");
  client_->remove<Pod>(ns_, "web-0");
  ASSERT_TRUE(eventually([&] {
    const auto pods = activePods("statefulset.kubernetes.io/pod-name=web-0");
    return pods.size() == 1 && pods[0].metadata.labels.at(kHashLabel) == rev1.metadata.name &&
           pods[0].spec.containers[0].image == "web:1";
  }));

  // Partition 0 finishes the rollout: the current revision becomes revision 2.
  modify<StatefulSet>("web",
                      [](StatefulSet& x) { x.spec.updateStrategy.rollingUpdate->partition = 0; });
  ASSERT_TRUE(eventually([&] { return converged(rev2.metadata.name, "web:2"); }));

  // Rollback: revision 1 comes back as number 3, the pods return to it.
  undoTo<StatefulSet>("web", rev1);
  ASSERT_TRUE(eventually([&] {
    const auto revs = revisionsOf(uid);
    return revs.size() == 2 && revs.contains(3) && revs.at(3).metadata.name == rev1.metadata.name;
  }));
  ASSERT_TRUE(eventually([&] { return converged(rev1.metadata.name, "web:1"); }));
}

// Upstream's ControllerRefManager for revisions: a revision whose ownerReference was removed
// but whose labels still match the selector is adopted again; one that matches no selector is
// left alone, and an owned one relabelled out of the selector is released.
TEST_F(ControllerHistoryServerTest, OrphanedRevisionsAreAdoptedAndUnmatchedOnesReleased) {
  StatefulSet ss;
  ss.metadata.name = "web";
  ss.metadata.namespace_ = ns_;
  ss.spec.replicas = 0;
  ss.spec.serviceName = "web";
  ss.spec.selector.emplace().matchLabels["app"] = "web";
  ss.spec.template_ = podTemplate("web", "web:1");
  ss = client_->create(ss);
  DaemonSet ds;
  ds.metadata.name = "agent";
  ds.metadata.namespace_ = ns_;
  ds.spec.selector.emplace().matchLabels["app"] = "agent";
  ds.spec.template_ = podTemplate("agent", "agent:1");
  ds.spec.template_.spec.nodeSelector["history-test"] = ns_;  // no such node: no pods
  ds = client_->create(ds);
  ASSERT_TRUE(eventually([&] {
    return revisionsOf(ss.metadata.uid).size() == 1 && revisionsOf(ds.metadata.uid).size() == 1;
  }));
  ControllerRevision stray;
  stray.metadata.name = "stray";
  stray.metadata.namespace_ = ns_;
  stray.metadata.labels["app"] = "other";
  stray.data = api::RawJson::fromTrustedText(R"({"other":true})");
  stray.revision = 1;
  client_->create(stray);

  for (const auto& uid : {ss.metadata.uid, ds.metadata.uid}) {
    const std::string name = revisionsOf(uid).at(1).metadata.name;
    auto orphan = client_->get<ControllerRevision>(ns_, name);
    orphan.metadata.ownerReferences.clear();
    client_->update(orphan);
    ASSERT_TRUE(eventually([&] {
      const auto revs = revisionsOf(uid);
      return revs.size() == 1 && revs.begin()->second.metadata.name == name;
    })) << name
        <<
        [&] {
          std::string all;
          for (const auto& r : client_->list<ControllerRevision>(ns_).items) {
            all += " " + r.metadata.name + "#" + std::to_string(r.revision) + "->" +
                   (r.metadata.ownerReferences.empty() ? "-" : r.metadata.ownerReferences[0].uid);
          }
          return all;
        }();
    const auto adopted = client_->get<ControllerRevision>(ns_, name);
    ASSERT_EQ(adopted.metadata.ownerReferences.size(), 1U);
    EXPECT_EQ(adopted.metadata.ownerReferences[0].uid, uid);
    EXPECT_TRUE(adopted.metadata.ownerReferences[0].blockOwnerDeletion.value_or(false));
  }
  // Not adopted, the orphan would have been taken for a hash collision: a revision of a new
  // name and a collisionCount bump. (A bump once came from an adoption racing the informer's
  // cache; claimRevisions re-reads such revisions now, ClaimRereadsStaleRevisions below.)
  for (const auto& uid : {ss.metadata.uid, ds.metadata.uid}) EXPECT_EQ(revisionsOf(uid).size(), 1U);
  EXPECT_EQ(client_->get<StatefulSet>(ns_, "web").status.collisionCount.value_or(0), 0);
  EXPECT_EQ(client_->get<DaemonSet>(ns_, ds.metadata.name).status.collisionCount.value_or(0), 0);
  EXPECT_TRUE(client_->get<ControllerRevision>(ns_, "stray").metadata.ownerReferences.empty());

  // An old revision relabelled out of the selector is released (its owner reference goes).
  modify<StatefulSet>("web",
                      [](StatefulSet& x) { x.spec.template_.spec.containers[0].image = "web:2"; });
  ASSERT_TRUE(eventually([&] { return revisionsOf(ss.metadata.uid).size() == 2; }));
  const std::string old = revisionsOf(ss.metadata.uid).at(1).metadata.name;
  auto relabelled = client_->get<ControllerRevision>(ns_, old);
  relabelled.metadata.labels["app"] = "elsewhere";
  client_->update(relabelled);
  ASSERT_TRUE(eventually(
      [&] { return client_->get<ControllerRevision>(ns_, old).metadata.ownerReferences.empty(); }));
  EXPECT_EQ(revisionsOf(ss.metadata.uid).size(), 1U);
  EXPECT_TRUE(revisionsOf(ss.metadata.uid).contains(2));
}

// claimRevisions with a cache that runs behind the server: the adoption update at the cached
// resourceVersion conflicts, so the server's copy is read again and adopted, or taken as it
// is when an earlier sync adopted it already. Missed, the revision would later be taken for
// a hash collision.
TEST_F(ControllerHistoryServerTest, ClaimRereadsStaleRevisions) {
  // An owner that exists (the garbage collector would take the revisions of a missing one)
  // and that no controller here claims revisions for.
  api::core::v1::ConfigMap claimer;
  claimer.metadata.name = "claimer";
  claimer.metadata.namespace_ = ns_;
  const api::meta::v1::ObjectMeta ownerMeta = client_->create(claimer).metadata;
  const auto tmpl = podTemplate("claimtest", "claim:1");
  const RevisionOwner owner{.apiVersion = api::core::v1::ConfigMap::kApiVersion,
                            .kind = api::core::v1::ConfigMap::kKind,
                            .meta = ownerMeta,
                            .tmpl = tmpl,
                            .collisionCount = std::nullopt,
                            .revisionHistoryLimit = std::nullopt};
  api::meta::v1::LabelSelector selector;
  selector.matchLabels["app"] = "claimtest";
  const auto orphan = [&](const std::string& name) {
    ControllerRevision r;
    r.metadata.name = name;
    r.metadata.namespace_ = ns_;
    r.metadata.labels["app"] = "claimtest";
    r.data = api::RawJson::fromTrustedText(R"({"x":1})");
    r.revision = 1;
    return client_->create(r);
  };
  // Changed on the server after the cache's copy: still an orphan there.
  const auto staleA = orphan("claim-a");
  auto changed = staleA;
  changed.metadata.annotations["touched"] = "yes";
  client_->update(changed);
  // Adopted on the server (by an earlier sync) after the cache's copy.
  const auto staleB = orphan("claim-b");
  auto adopted = staleB;
  adopted.metadata.ownerReferences.push_back(
      controllerRef(owner.apiVersion, owner.kind, owner.meta));
  client_->update(adopted);

  const auto claimed = claimRevisions(*client_, owner, selector,
                                      {std::make_shared<const ControllerRevision>(staleA),
                                       std::make_shared<const ControllerRevision>(staleB)});
  std::set<std::string> names;
  for (const auto& r : claimed) {
    names.insert(r.metadata.name);
    EXPECT_TRUE(isControlledBy(r.metadata, ownerMeta.uid)) << r.metadata.name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"claim-a", "claim-b"}));
  EXPECT_EQ(client_->get<ControllerRevision>(ns_, "claim-a").metadata.annotations.at("touched"),
            "yes");
}

}  // namespace
}  // namespace kite::controlplane::controllers
