// The Deployment controller against a real `kite server --disable-agent`: ScalingReplicaSet
// events in upstream's words, proportional scaling of a rollout in progress, and the
// Progressing reasons. The tests make pods ready by writing their status (no kubelet).

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include "kite/api/apps/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/meta.h"
#include "kite/client/client.h"
#include "workload_server_fixture.h"

namespace kite::controlplane::controllers {
namespace {

using namespace std::chrono_literals;
using api::apps::v1::Deployment;
using api::apps::v1::ReplicaSet;
using api::core::v1::Pod;

struct DeploymentSuite : WorkloadServerSuite {
  static constexpr std::string_view kNamespacePrefix = "d";
};

class DeploymentServerTest : public WorkloadServerFixture<DeploymentSuite> {
 protected:
  // Marks the pods of one ReplicaSet Running and Ready.
  void markReady(const std::string& rsName) {
    for (auto& p : client_->list<Pod>(ns_).items) {
      const auto* ref = api::controllerOf(p.metadata);
      if (ref == nullptr || ref->name != rsName || p.status.phase == "Running") continue;
      p.status.phase = "Running";
      api::core::v1::PodCondition ready;
      ready.type = "Ready";
      ready.status = "True";
      ready.lastTransitionTime = api::Time::now();
      p.status.conditions = {ready};
      try {
        client_->updateStatus(p);
      } catch (const client::ApiError&) {
      }
    }
  }

  std::map<std::string, int32_t> setSizes() {
    std::map<std::string, int32_t> out;
    for (const auto& rs : client_->list<ReplicaSet>(ns_).items) {
      out[rs.metadata.name] = rs.spec.replicas.value_or(1);
    }
    return out;
  }
  std::set<std::string> eventMessages(const std::string& reason) {
    std::set<std::string> out;
    for (const auto& e : client_->list<api::core::v1::Event>(ns_).items) {
      if (e.reason == reason && e.involvedObject.kind == "Deployment") out.insert(e.message);
    }
    return out;
  }
  std::string progressingReason(const std::string& name) {
    const auto d = client_->get<Deployment>(ns_, name);
    const auto* c = api::findCondition(d.status.conditions, "Progressing");
    return c != nullptr ? c->reason : "";
  }
};

TEST_F(DeploymentServerTest, ScalingMidRolloutIsProportionalWithEvents) {
  Deployment d;
  d.metadata.name = "web";
  d.metadata.namespace_ = ns_;
  d.spec.replicas = 4;
  d.spec.progressDeadlineSeconds = 2;
  d.spec.selector.emplace().matchLabels["app"] = "web";
  d.spec.template_.metadata.labels["app"] = "web";
  api::core::v1::Container c;
  c.name = "main";
  c.image = "nginx:1";
  d.spec.template_.spec.containers.push_back(c);
  d.spec.strategy.type = "RollingUpdate";
  auto& ru = d.spec.strategy.rollingUpdate.emplace();
  ru.maxSurge = api::IntOrString(1);
  ru.maxUnavailable = api::IntOrString(0);
  client_->create(d);
  ASSERT_TRUE(eventually([&] { return setSizes().size() == 1; }));
  const std::string oldSet = setSizes().begin()->first;
  ASSERT_TRUE(eventually([&] {
    markReady(oldSet);
    return progressingReason("web") == "NewReplicaSetAvailable";
  }));
  EXPECT_TRUE(eventMessages("ScalingReplicaSet")
                  .contains("Scaled up replica set " + oldSet + " from 0 to 4"));

  // A new image whose pods never get ready: the rollout stops at old 4 + new 1.
  modify<Deployment>(
      "web", [](Deployment& cur) { cur.spec.template_.spec.containers[0].image = "nginx:2"; });
  std::string newSet;
  ASSERT_TRUE(eventually([&] {
    const auto sizes = setSizes();
    for (const auto& [name, n] : sizes) {
      if (name != oldSet) newSet = name;
    }
    return sizes.size() == 2 && sizes.at(oldSet) == 4 && !newSet.empty() && sizes.at(newSet) == 1;
  }));
  EXPECT_TRUE(eventually([&] {
    return progressingReason("web") == "NewReplicaSetCreated" ||
           progressingReason("web") == "ReplicaSetUpdated";
  }));
  // No progress for longer than progressDeadlineSeconds.
  EXPECT_TRUE(eventually([&] { return progressingReason("web") == "ProgressDeadlineExceeded"; }));

  // Scaled to 8 mid-rollout: 9 pods in all (8 + surge 1), shared 4:1 -> 7 and 2.
  modify<Deployment>("web", [](Deployment& cur) { cur.spec.replicas = 8; });
  ASSERT_TRUE(eventually([&] {
    const auto sizes = setSizes();
    return sizes.at(oldSet) == 7 && sizes.at(newSet) == 2;
  })) <<
      [&] {
        std::string all;
        for (const auto& m : eventMessages("ScalingReplicaSet")) all += m + "; ";
        for (const auto& rs : client_->list<ReplicaSet>(ns_).items) {
          all += rs.metadata.name + " " + std::to_string(rs.spec.replicas.value_or(-1));
          for (const auto& [k, v] : rs.metadata.annotations)
            all.append(" ").append(k).append("=").append(v);
          all += "\n";
        }
        return all;
      }();
  std::this_thread::sleep_for(300ms);  // and it stays so: the rollout does not jump ahead
  EXPECT_EQ(setSizes().at(oldSet), 7);
  EXPECT_EQ(setSizes().at(newSet), 2);
  const auto events = eventMessages("ScalingReplicaSet");
  EXPECT_TRUE(events.contains("Scaled up replica set " + newSet + " from 0 to 1"));
  EXPECT_TRUE(events.contains("Scaled up replica set " + oldSet + " from 4 to 7"));
  EXPECT_TRUE(events.contains("Scaled up replica set " + newSet + " from 1 to 2"));

  // Once the pods are ready the rollout finishes, scaling the old set down with events.
  ASSERT_TRUE(eventually([&] {
    markReady(oldSet);
    markReady(newSet);
    const auto sizes = setSizes();
    return sizes.at(oldSet) == 0 && sizes.at(newSet) == 8 &&
           progressingReason("web") == "NewReplicaSetAvailable";
  })) << progressingReason("web");
  bool scaledDown = false;
  for (const auto& m : eventMessages("ScalingReplicaSet")) {
    scaledDown |= m.rfind("Scaled down replica set " + oldSet + " from ", 0) == 0;
  }
  EXPECT_TRUE(scaledDown);
}

}  // namespace
}  // namespace kite::controlplane::controllers
