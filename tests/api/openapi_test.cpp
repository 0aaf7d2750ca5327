// The generated OpenAPI documents: well-formed, upstream definition names and extensions,
// every $ref resolvable, kinds findable the way kubectl explain finds them.

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <set>
#include <string>
#include <string_view>

#include "kite/api/openapi.h"

namespace kite::api {
namespace {

rapidjson::Document parse(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << "offset " << doc.GetErrorOffset();
  return doc;
}

std::string str(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

// Collects every "$ref" string in a JSON value.
void collectRefs(const rapidjson::Value& v, std::set<std::string>& out) {
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      if (str(m.name) == "$ref" && m.value.IsString()) out.insert(str(m.value));
      collectRefs(m.value, out);
    }
  } else if (v.IsArray()) {
    for (const auto& e : v.GetArray()) collectRefs(e, out);
  }
}

TEST(OpenApi, GroupVersionsListCoreFirstAndEveryGroup) {
  const auto gvs = openApiV3GroupVersions();
  ASSERT_FALSE(gvs.empty());
  EXPECT_EQ(gvs[0].groupVersion, "v1");
  EXPECT_EQ(gvs[0].path, "api/v1");
  std::set<std::string_view> paths;
  for (const auto& gv : gvs) {
    paths.insert(gv.path);
    EXPECT_EQ(gv.hash.size(), 128U) << gv.path;
    EXPECT_FALSE(openApiV3Document(gv.groupVersion).empty()) << gv.groupVersion;
    EXPECT_EQ(openApiV3Document(gv.path), openApiV3Document(gv.groupVersion));
  }
  for (const char* p :
       {"apis/apps/v1", "apis/batch/v1", "apis/networking.k8s.io/v1", "apis/storage.k8s.io/v1",
        "apis/rbac.authorization.k8s.io/v1", "apis/events.k8s.io/v1", "apis/policy/v1",
        "apis/authorization.k8s.io/v1", "apis/authentication.k8s.io/v1",
        "apis/coordination.k8s.io/v1", "apis/discovery.k8s.io/v1"}) {
    EXPECT_TRUE(paths.contains(p)) << p;
  }
  EXPECT_TRUE(openApiV3Document("nope/v1").empty());
}

TEST(OpenApi, EveryV3DocumentIsSelfContained) {
  for (const auto& gv : openApiV3GroupVersions()) {
    const auto doc = parse(openApiV3Document(gv.groupVersion));
    ASSERT_TRUE(doc.IsObject());
    EXPECT_EQ(str(doc["openapi"]), "3.0.0");
    const auto& schemas = doc["components"]["schemas"];
    std::set<std::string> refs;
    collectRefs(doc, refs);
    for (const auto& ref : refs) {
      constexpr std::string_view prefix = "#/components/schemas/";
      ASSERT_EQ(ref.substr(0, prefix.size()), prefix) << ref;
      EXPECT_TRUE(schemas.HasMember(ref.substr(prefix.size()).c_str()))
          << gv.groupVersion << ": dangling " << ref;
    }
  }
}

TEST(OpenApi, CoreDocumentDescribesPodsLikeUpstream) {
  const auto doc = parse(openApiV3Document("v1"));
  const auto& schemas = doc["components"]["schemas"];
  ASSERT_TRUE(schemas.HasMember("io.k8s.api.core.v1.Pod"));
  ASSERT_TRUE(schemas.HasMember("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
  const auto& pod = schemas["io.k8s.api.core.v1.Pod"];
  EXPECT_EQ(str(pod["type"]), "object");
  const auto& gvk = pod["x-kubernetes-group-version-kind"][0];
  EXPECT_EQ(str(gvk["group"]), "");
  EXPECT_EQ(str(gvk["version"]), "v1");
  EXPECT_EQ(str(gvk["kind"]), "Pod");
  EXPECT_EQ(str(pod["properties"]["metadata"]["allOf"][0]["$ref"]),
            "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");

  const auto& spec = schemas["io.k8s.api.core.v1.PodSpec"];
  const auto& containers = spec["properties"]["containers"];
  EXPECT_EQ(str(containers["type"]), "array");
  EXPECT_EQ(str(containers["x-kubernetes-patch-strategy"]), "merge");
  EXPECT_EQ(str(containers["x-kubernetes-patch-merge-key"]), "name");
  EXPECT_EQ(str(containers["x-kubernetes-list-type"]), "map");
  EXPECT_EQ(str(containers["x-kubernetes-list-map-keys"][0]), "name");
  EXPECT_EQ(str(containers["items"]["allOf"][0]["$ref"]),
            "#/components/schemas/io.k8s.api.core.v1.Container");
  EXPECT_EQ(str(spec["properties"]["volumes"]["x-kubernetes-patch-strategy"]), "merge,retainKeys");
  bool required = false;
  for (const auto& r : spec["required"].GetArray()) required = required || str(r) == "containers";
  EXPECT_TRUE(required);
  EXPECT_EQ(str(spec["properties"]["tolerations"]["x-kubernetes-list-type"]), "atomic");
  EXPECT_FALSE(spec["properties"]["tolerations"].HasMember("x-kubernetes-patch-strategy"));

  const auto& ios = schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
  EXPECT_EQ(str(ios["format"]), "int-or-string");
  EXPECT_TRUE(schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"].HasMember("oneOf"));
  EXPECT_EQ(str(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"]), "date-time");
  const auto& resources = schemas["io.k8s.api.core.v1.ResourceRequirements"]["properties"];
  EXPECT_EQ(str(resources["limits"]["additionalProperties"]["allOf"][0]["$ref"]),
            "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity");
  EXPECT_EQ(
      str(schemas["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"]["x-kubernetes-map-type"]),
      "atomic");
}

// kubectl explain finds a resource's kind through the GVK of an operation on its path.
TEST(OpenApi, PathsCarryTheKindOfEachResource) {
  const auto doc = parse(openApiV3Document("v1"));
  const auto& paths = doc["paths"];
  const auto& pods = paths["/api/v1/namespaces/{namespace}/pods"];
  EXPECT_EQ(str(pods["get"]["x-kubernetes-group-version-kind"]["kind"]), "Pod");
  EXPECT_EQ(str(pods["get"]["x-kubernetes-action"]), "list");
  EXPECT_EQ(str(pods["get"]["operationId"]), "listCoreV1NamespacedPod");
  EXPECT_TRUE(paths.HasMember("/api/v1/namespaces/{namespace}/pods/{name}/status"));
  EXPECT_TRUE(paths.HasMember("/api/v1/nodes/{name}"));
  EXPECT_EQ(str(paths["/api/v1/namespaces/{namespace}/pods/{name}/binding"]["post"]
                     ["x-kubernetes-group-version-kind"]["kind"]),
            "Binding");

  const auto apps = parse(openApiV3Document("apps/v1"));
  const auto& scale =
      apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
  EXPECT_EQ(str(scale["get"]["x-kubernetes-group-version-kind"]["group"]), "autoscaling");
  EXPECT_TRUE(apps["components"]["schemas"].HasMember("io.k8s.api.autoscaling.v1.Scale"));
  EXPECT_TRUE(apps["components"]["schemas"].HasMember("io.k8s.api.core.v1.PodTemplateSpec"));

  const auto rbac = parse(openApiV3Document("rbac.authorization.k8s.io/v1"));
  EXPECT_TRUE(rbac["paths"].HasMember("/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}"));
  const auto authz = parse(openApiV3Document("authorization.k8s.io/v1"));
  EXPECT_TRUE(
      authz["paths"]["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"].HasMember("post"));
}

TEST(OpenApi, V2DocumentHasEveryDefinition) {
  const auto doc = parse(openApiV2Document());
  EXPECT_EQ(str(doc["swagger"]), "2.0");
  EXPECT_EQ(openApiV2Hash().size(), 128U);
  const auto& defs = doc["definitions"];
  for (const char* name :
       {"io.k8s.api.core.v1.Pod", "io.k8s.api.apps.v1.Deployment", "io.k8s.api.batch.v1.CronJob",
        "io.k8s.api.networking.v1.Ingress", "io.k8s.api.rbac.v1.ClusterRole",
        "io.k8s.api.events.v1.Event", "io.k8s.api.core.v1.Event",
        "io.k8s.api.policy.v1.PodDisruptionBudget", "io.k8s.api.storage.v1.StorageClass",
        "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"}) {
    EXPECT_TRUE(defs.HasMember(name)) << name;
  }
  EXPECT_EQ(str(defs["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]["items"]["$ref"]),
            "#/definitions/io.k8s.api.core.v1.Container");
  std::set<std::string> refs;
  collectRefs(doc, refs);
  for (const auto& ref : refs) {
    constexpr std::string_view prefix = "#/definitions/";
    ASSERT_EQ(ref.substr(0, prefix.size()), prefix) << ref;
    EXPECT_TRUE(defs.HasMember(ref.substr(prefix.size()).c_str())) << "dangling " << ref;
  }
  EXPECT_TRUE(doc["paths"].HasMember("/apis/batch/v1/namespaces/{namespace}/cronjobs"));
}

}  // namespace
}  // namespace kite::api
