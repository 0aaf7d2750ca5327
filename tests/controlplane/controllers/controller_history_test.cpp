// The DaemonSet/StatefulSet revision history's pure part: the revision data kubectl applies,
// hashes and names, and the plan (create, reuse on rollback, truncate keeping live ones).

#include <gtest/gtest.h>

#include "controller_history.h"
#include "go_json.h"
#include "kite/api/json.h"
#include "kite/api/meta.h"

namespace kite::controlplane::controllers {
namespace {

api::core::v1::PodTemplateSpec podTemplate(const std::string& image) {
  api::core::v1::PodTemplateSpec t;
  t.metadata.labels["app"] = "agent";
  api::core::v1::Container c;
  c.name = "main";
  c.image = image;
  t.spec.containers.push_back(c);
  return t;
}

class HistoryTest : public ::testing::Test {
 protected:
  HistoryTest() {
    meta_.name = "agent";
    meta_.namespace_ = "ns";
    meta_.uid = "uid-1";
    meta_.annotations["kubernetes.io/change-cause"] = "why";
  }

  RevisionOwner owner(const api::core::v1::PodTemplateSpec& tmpl,
                      std::optional<int32_t> limit = std::nullopt,
                      std::optional<int32_t> collisions = std::nullopt) const {
    return {.apiVersion = "apps/v1",
            .kind = "DaemonSet",
            .meta = meta_,
            .tmpl = tmpl,
            .collisionCount = collisions,
            .revisionHistoryLimit = limit};
  }

  api::meta::v1::ObjectMeta meta_;
};

TEST_F(HistoryTest, DataIsTheTemplateReplacePatchKubectlApplies) {
  const auto tmpl = podTemplate("agent:1");
  const auto data = templatePatch(tmpl);
  EXPECT_EQ(data.text().rfind(R"({"spec":{"template":{"$patch":"replace",)", 0), 0U) << data.text();
  // Parses as JSON and the template comes back out of it.
  EXPECT_NO_THROW(api::RawJson::parse(data.text()));
  ControllerRevision r;
  r.data = data;
  EXPECT_EQ(api::encodeJson(templateOf(r)), api::encodeJson(tmpl));
  EXPECT_TRUE(revisionMatches(r, tmpl));
  EXPECT_FALSE(revisionMatches(r, podTemplate("agent:2")));
  r.data = api::RawJson::fromTrustedText(R"({"other":1})");
  EXPECT_FALSE(revisionMatches(r, tmpl));
  r.data = {};
  EXPECT_THROW(templateOf(r), std::invalid_argument);
}

// What kubectl compares the data with: Go's encoding of the owner, keys sorted at every level.
TEST_F(HistoryTest, DataIsWrittenAsGoWritesTheTemplate) {
  auto tmpl = podTemplate("agent:1");
  tmpl.spec.containers[0].command = {"sh", "-c", "a && b > c"};
  tmpl.spec.nodeSelector = {{"zone", "a"}, {"arch", "x"}};
  EXPECT_EQ(templatePatch(tmpl).text(),
            R"({"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,)"
            R"("labels":{"app":"agent"}},"spec":{"containers":[{"command":["sh","-c",)"
            R"("a \u0026\u0026 b \u003e c"],"image":"agent:1","name":"main","resources":{}}],)"
            R"("nodeSelector":{"arch":"x","zone":"a"}}}}})");
}

TEST(GoJson, SortsKeysEscapesLikeGoAndKeepsNumbers) {
  EXPECT_EQ(
      goCanonicalJson(R"( {"b": [1, -2, 2.5, 1e-7, 1e21, true, null], "a": {"d": "x", "c": ""}} )"),
      R"({"a":{"c":"","d":"x"},"b":[1,-2,2.5,1e-7,1e+21,true,null]})");
  EXPECT_EQ(goCanonicalJson("\"<tab>\\t\\b\\u0001 \\u2028 & \\\" \\\\ /\""),
            "\"\\u003ctab\\u003e\\t\\b\\u0001 \\u2028 \\u0026 \\\" \\\\ /\"");
  EXPECT_THROW(goCanonicalJson("{"), std::invalid_argument);
}

TEST_F(HistoryTest, HashIsStableForEqualTemplatesAndDiffersOtherwise) {
  const auto a = revisionHash(templatePatch(podTemplate("agent:1")), std::nullopt);
  EXPECT_EQ(a, revisionHash(templatePatch(podTemplate("agent:1")), std::nullopt));
  EXPECT_NE(a, revisionHash(templatePatch(podTemplate("agent:2")), std::nullopt));
  EXPECT_NE(a, revisionHash(templatePatch(podTemplate("agent:1")), 1));
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a.find_first_of("aeiou013"), std::string::npos) << a;  // upstream's alphabet
}

TEST_F(HistoryTest, NewRevisionIsNamedLabelledAndOwned) {
  const auto tmpl = podTemplate("agent:1");
  const auto r = newRevision(owner(tmpl), 1);
  const std::string hash = revisionHash(r.data, std::nullopt);
  EXPECT_EQ(r.metadata.name, "agent-" + hash);
  EXPECT_EQ(r.metadata.namespace_, "ns");
  EXPECT_EQ(r.metadata.labels.at("app"), "agent");
  EXPECT_EQ(r.metadata.labels.at("controller-revision-hash"), hash);
  EXPECT_EQ(r.metadata.annotations.at("kubernetes.io/change-cause"), "why");
  ASSERT_EQ(r.metadata.ownerReferences.size(), 1U);
  EXPECT_EQ(r.metadata.ownerReferences[0].kind, "DaemonSet");
  EXPECT_EQ(r.metadata.ownerReferences[0].uid, "uid-1");
  EXPECT_TRUE(r.metadata.ownerReferences[0].controller.value_or(false));
  EXPECT_EQ(r.revision, 1);
  // Long owner names are cut so "<owner>-<hash>" stays a valid name.
  EXPECT_EQ(revisionName(std::string(300, 'x'), "abc").size(), 223U + 4U);
}

TEST_F(HistoryTest, FirstTemplateCreatesRevisionOneAndAChangeRevisionTwo) {
  const auto one = podTemplate("agent:1");
  auto plan = planHistory(owner(one), {}, {});
  EXPECT_TRUE(plan.create);
  EXPECT_FALSE(plan.renumber);
  EXPECT_EQ(plan.current.revision, 1);
  const auto rev1 = plan.current;
  // The same template again: nothing to do.
  plan = planHistory(owner(one), {rev1}, {});
  EXPECT_FALSE(plan.create);
  EXPECT_FALSE(plan.renumber);
  EXPECT_EQ(plan.current.metadata.name, rev1.metadata.name);
  // A new image: revision 2 with another name.
  const auto two = podTemplate("agent:2");
  plan = planHistory(owner(two), {rev1}, {});
  EXPECT_TRUE(plan.create);
  EXPECT_EQ(plan.current.revision, 2);
  EXPECT_NE(plan.current.metadata.name, rev1.metadata.name);
  EXPECT_TRUE(plan.expired.empty());
}

TEST_F(HistoryTest, RollbackReusesTheMatchingRevisionWithTheNextNumber) {
  const auto rev1 = newRevision(owner(podTemplate("agent:1")), 1);
  const auto rev2 = newRevision(owner(podTemplate("agent:2")), 2);
  const auto plan = planHistory(owner(podTemplate("agent:1")), {rev2, rev1}, {});
  EXPECT_FALSE(plan.create);
  EXPECT_TRUE(plan.renumber);
  EXPECT_EQ(plan.current.metadata.name, rev1.metadata.name);
  EXPECT_EQ(plan.current.revision, 3);
}

TEST_F(HistoryTest, TruncatesOldestBeyondTheLimitKeepingLiveOnes) {
  std::vector<ControllerRevision> revs;
  for (int i = 1; i <= 5; ++i) {
    revs.push_back(newRevision(owner(podTemplate("agent:" + std::to_string(i))), i));
  }
  // Current is agent:5; four old ones, limit 2: the two oldest go, but revision 1 is live
  // (a pod still runs it), so revisions 2 and 3 go.
  const auto plan = planHistory(owner(podTemplate("agent:5"), 2), revs, {revs[0].metadata.name});
  EXPECT_FALSE(plan.create);
  EXPECT_EQ(plan.expired, (std::vector<std::string>{revs[1].metadata.name, revs[2].metadata.name}));
  // Default limit 10: nothing expires.
  EXPECT_TRUE(planHistory(owner(podTemplate("agent:5")), revs, {}).expired.empty());
  // Limit 0 keeps only the current (and live) ones.
  const auto none = planHistory(owner(podTemplate("agent:6"), 0), revs, {});
  EXPECT_EQ(none.current.revision, 6);
  EXPECT_EQ(none.expired.size(), 5U);
}

TEST_F(HistoryTest, ANameTakenByAnotherTemplateIsACollision) {
  auto other = newRevision(owner(podTemplate("agent:1")), 1);
  const auto mine = newRevision(owner(podTemplate("agent:2")), 2);
  other.metadata.name = mine.metadata.name;  // as if the hashes had collided
  const auto plan = planHistory(owner(podTemplate("agent:2")), {other}, {});
  EXPECT_TRUE(plan.create);
  EXPECT_TRUE(plan.collision);
  // The bumped collision count gives another name.
  const auto bumped = planHistory(owner(podTemplate("agent:2"), std::nullopt, 1), {other}, {});
  EXPECT_FALSE(bumped.collision);
  EXPECT_NE(bumped.current.metadata.name, other.metadata.name);
}

}  // namespace
}  // namespace kite::controlplane::controllers
