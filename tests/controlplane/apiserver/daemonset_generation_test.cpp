// A DaemonSet's template generation, kept by the API server in upstream's
// deprecated.daemonset.template.generation annotation: 1 on create, one more for every change of
// the pod template (on update and on patch), unchanged for other spec changes, and never taken
// from the client.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>

#include "apiserver_test_util.h"

namespace kite::testing {
namespace {

constexpr const char* kDaemonSets = "/apis/apps/v1/namespaces/default/daemonsets";
constexpr const char* kAnnotation = "deprecated.daemonset.template.generation";

std::string daemonSetJson(const std::string& image, const std::string& extraMetadata = {},
                          const std::string& name = "agent") {
  return R"({"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":")" + name + "\"" +
         extraMetadata +
         R"(},"spec":{"selector":{"matchLabels":{"app":"agent"}},)"
         R"("template":{"metadata":{"labels":{"app":"agent"}},)"
         R"("spec":{"containers":[{"name":"main","image":")" +
         image + R"("}]}}}})";
}

// The annotation ("<none>" when missing) and metadata.generation of a DaemonSet answer.
struct Generations {
  std::string annotation;
  std::int64_t generation = 0;
};

Generations generationsOf(const Reply& r) {
  Generations out{"<none>", -1};
  const auto d = r.json();
  if (!d.IsObject() || !d.HasMember("metadata")) return out;
  const auto& m = d["metadata"];
  if (m.HasMember("generation") && m["generation"].IsInt64()) {
    out.generation = m["generation"].GetInt64();
  }
  if (m.HasMember("annotations") && m["annotations"].HasMember(kAnnotation)) {
    out.annotation = m["annotations"][kAnnotation].GetString();
  }
  return out;
}

class DaemonSetGenerationTest : public ::testing::Test {
 protected:
  Reply mergePatch(const std::string& body) {
    return api.call("PATCH", std::string(kDaemonSets) + "/agent", body,
                    "application/merge-patch+json");
  }
  ApiHarness api;
};

TEST_F(DaemonSetGenerationTest, TemplateGenerationFollowsTemplateChangesOnly) {
  auto r = api.call("POST", kDaemonSets, daemonSetJson("agent:1"));
  ASSERT_EQ(r.status, 201) << r.body;
  auto g = generationsOf(r);
  EXPECT_EQ(g.annotation, "1");
  EXPECT_EQ(g.generation, 1);
  // Stored, not only answered.
  EXPECT_EQ(generationsOf(api.call("GET", std::string(kDaemonSets) + "/agent")).annotation, "1");

  // A new image through a full update that does not carry the annotation: generation 2.
  r = api.call("PUT", std::string(kDaemonSets) + "/agent", daemonSetJson("agent:2"));
  ASSERT_EQ(r.status, 200) << r.body;
  g = generationsOf(r);
  EXPECT_EQ(g.annotation, "2");
  EXPECT_EQ(g.generation, 2);

  // Another spec field: metadata.generation moves, the template generation does not.
  r = mergePatch(R"({"spec":{"minReadySeconds":5}})");
  ASSERT_EQ(r.status, 200) << r.body;
  g = generationsOf(r);
  EXPECT_EQ(g.annotation, "2");
  EXPECT_EQ(g.generation, 3);

  // A client's own value, with the template unchanged, is replaced by the stored one.
  r = mergePatch(std::string(R"({"metadata":{"annotations":{")") + kAnnotation + R"(":"7"}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  g = generationsOf(r);
  EXPECT_EQ(g.annotation, "2");
  EXPECT_EQ(g.generation, 3);
  r = mergePatch(std::string(R"({"metadata":{"annotations":{")") + kAnnotation + R"(":null}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(generationsOf(r).annotation, "2");

  // A template change through a patch counts as one through an update does.
  r = mergePatch(R"({"spec":{"template":{"metadata":{"labels":{"tier":"node"}}}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  g = generationsOf(r);
  EXPECT_EQ(g.annotation, "3");
  EXPECT_EQ(g.generation, 4);

  // Status writes leave it alone.
  r = api.call(
      "PUT", std::string(kDaemonSets) + "/agent/status",
      daemonSetJson("agent:2", std::string(R"(,"annotations":{")") + kAnnotation + R"(":"9"})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(generationsOf(r).annotation, "3");

  EXPECT_EQ(api.call("DELETE", std::string(kDaemonSets) + "/agent").status, 200);
}

TEST_F(DaemonSetGenerationTest, CreateKeepsAPositiveGenerationAndReplacesOthers) {
  // As upstream's PrepareForCreate: a given value of at least 1 stays, others become 1.
  auto r = api.call(
      "POST", kDaemonSets,
      daemonSetJson("agent:1", std::string(R"(,"annotations":{")") + kAnnotation + R"(":"4"})"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(generationsOf(r).annotation, "4");
  r = api.call(
      "POST", kDaemonSets,
      daemonSetJson("agent:1", std::string(R"(,"annotations":{")") + kAnnotation + R"(":"0"})",
                    "other"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(generationsOf(r).annotation, "1");
}

TEST_F(DaemonSetGenerationTest, CreateTakesASignedIntegerAsUpstreamParsesIt) {
  // Go's ParseInt takes a leading '+'; a negative value is below 1 and starts at 1.
  auto r = api.call(
      "POST", kDaemonSets,
      daemonSetJson("agent:1", std::string(R"(,"annotations":{")") + kAnnotation + R"(":"+4"})"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(generationsOf(r).annotation, "4");
  r = api.call(
      "POST", kDaemonSets,
      daemonSetJson("agent:1", std::string(R"(,"annotations":{")") + kAnnotation + R"(":"-3"})",
                    "other"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(generationsOf(r).annotation, "1");
}

TEST_F(DaemonSetGenerationTest, AValueThatIsNotAnInt64IsRefusedAsUpstreamsConversionDoes) {
  // Upstream's conversion to the internal version parses the annotation and fails the request
  // (400, as a body it cannot decode) instead of replacing the value; in a patch, 422.
  const std::string prefix = R"(DaemonSet in version "v1" cannot be handled as a DaemonSet: )";
  for (const auto& [value, reason] : {std::pair<std::string, std::string>{"abc", "invalid syntax"},
                                      {"", "invalid syntax"},
                                      {"1.5", "invalid syntax"},
                                      {"99999999999999999999", "value out of range"}}) {
    const auto r = api.call("POST", kDaemonSets,
                            daemonSetJson("agent:1", std::string(R"(,"annotations":{")") +
                                                         kAnnotation + R"(":")" + value + R"("})"));
    EXPECT_EQ(r.status, 400) << value << ": " << r.body;
    EXPECT_EQ(r.reason(), "BadRequest");
    std::string expected = prefix;
    expected.append("strconv.ParseInt: parsing \"").append(value).append("\": ").append(reason);
    EXPECT_EQ(r.message(), expected);
  }
  EXPECT_EQ(api.call("GET", std::string(kDaemonSets) + "/agent").status, 404);

  // The same for an update of a stored DaemonSet, which keeps its value.
  ASSERT_EQ(api.call("POST", kDaemonSets, daemonSetJson("agent:1")).status, 201);
  auto r = api.call(
      "PUT", std::string(kDaemonSets) + "/agent",
      daemonSetJson("agent:2", std::string(R"(,"annotations":{")") + kAnnotation + R"(":"x"})"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.message(), prefix + R"(strconv.ParseInt: parsing "x": invalid syntax)");
  // A patch that leaves such a value is the patch's fault: upstream answers Invalid (422)
  // with the field "patch", whichever kind of patch it is.
  const std::string setX =
      std::string(R"({"metadata":{"annotations":{")") + kAnnotation + R"(":"x"}}})";
  const std::string jsonPatchX = std::string(R"([{"op":"add","path":"/metadata/annotations/)") +
                                 kAnnotation + R"(","value":"x"}])";
  for (const auto& [body, type] :
       {std::pair<std::string, std::string>{setX, "application/merge-patch+json"},
        {setX, "application/strategic-merge-patch+json"},
        {jsonPatchX, "application/json-patch+json"}}) {
    r = api.call("PATCH", std::string(kDaemonSets) + "/agent", body, type);
    EXPECT_EQ(r.status, 422) << type << ": " << r.body;
    EXPECT_EQ(r.reason(), "Invalid") << type;
    EXPECT_TRUE(r.message().starts_with(R"( "" is invalid: patch: Invalid value: ")"))
        << r.message();
    EXPECT_TRUE(r.message().ends_with(R"(": strconv.ParseInt: parsing "x": invalid syntax)"))
        << r.message();
    const auto d = r.json();
    ASSERT_TRUE(d.IsObject() && d.HasMember("details") && d["details"].HasMember("causes"));
    EXPECT_STREQ(d["details"]["causes"][0]["field"].GetString(), "patch");
  }
  EXPECT_EQ(generationsOf(api.call("GET", std::string(kDaemonSets) + "/agent")).annotation, "1");
  EXPECT_EQ(api.call("DELETE", std::string(kDaemonSets) + "/agent").status, 200);
}

}  // namespace
}  // namespace kite::testing
