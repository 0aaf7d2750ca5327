// The generated OpenAPI documents: well-formed, upstream definition names and extensions,
// every $ref resolvable, kinds findable the way kubectl explain finds them.

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kite/api/openapi.h"
#include "kite/api/registry_info.h"

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
        "apis/coordination.k8s.io/v1", "apis/discovery.k8s.io/v1", "apis/scheduling.k8s.io/v1"}) {
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
  const auto sched = parse(openApiV3Document("scheduling.k8s.io/v1"));
  const auto& pc = sched["paths"]["/apis/scheduling.k8s.io/v1/priorityclasses/{name}"];
  EXPECT_EQ(str(pc["get"]["operationId"]), "readSchedulingV1PriorityClass");
  EXPECT_EQ(str(pc["get"]["x-kubernetes-group-version-kind"]["kind"]), "PriorityClass");
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
        "io.k8s.api.scheduling.v1.PriorityClass",
        "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"}) {
    EXPECT_TRUE(defs.HasMember(name)) << name;
  }
  EXPECT_EQ(str(defs["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]["items"]["$ref"]),
            "#/definitions/io.k8s.api.core.v1.Container");
  std::set<std::string> refs;
  collectRefs(doc, refs);
  for (const auto& ref : refs) {
    constexpr std::string_view defsPrefix = "#/definitions/";
    constexpr std::string_view paramsPrefix = "#/parameters/";
    if (ref.starts_with(paramsPrefix)) {
      EXPECT_TRUE(doc["parameters"].HasMember(ref.substr(paramsPrefix.size()).c_str()))
          << "dangling " << ref;
      continue;
    }
    ASSERT_EQ(ref.substr(0, defsPrefix.size()), defsPrefix) << ref;
    EXPECT_TRUE(defs.HasMember(ref.substr(defsPrefix.size()).c_str())) << "dangling " << ref;
  }
  EXPECT_TRUE(doc["paths"].HasMember("/apis/batch/v1/namespaces/{namespace}/cronjobs"));
}

// -- operations and their parameters ------------------------------------------------------

constexpr const char* kMethods[] = {"get", "put", "post", "delete", "options", "head", "patch"};

// Resolves a parameter the way kubectl 1.32 does (cli-runtime's query parameter verifier):
// inline, or a $ref whose text minus "#/parameters/" names an entry of `shared`
// (components.parameters in v3, the top-level parameters in v2). nullptr if unresolvable.
const rapidjson::Value* resolveParam(const rapidjson::Value& p, const rapidjson::Value* shared) {
  if (!p.HasMember("$ref")) return &p;
  std::string ref = str(p["$ref"]);
  constexpr std::string_view prefix = "#/parameters/";
  if (ref.starts_with(prefix)) ref.erase(0, prefix.size());
  if (shared == nullptr || !shared->HasMember(ref.c_str())) return nullptr;
  return &(*shared)[ref.c_str()];
}

const rapidjson::Value* sharedParams(const rapidjson::Document& doc) {
  if (doc.HasMember("parameters")) return &doc["parameters"];
  if (doc.HasMember("components") && doc["components"].HasMember("parameters")) {
    return &doc["components"]["parameters"];
  }
  return nullptr;
}

// Names of the query parameters in a parameter list (absent list: none).
std::set<std::string> queryNames(const rapidjson::Value& owner, const rapidjson::Value* shared) {
  std::set<std::string> out;
  if (!owner.HasMember("parameters")) return out;
  for (const auto& p : owner["parameters"].GetArray()) {
    const auto* resolved = resolveParam(p, shared);
    if (resolved != nullptr && str((*resolved)["in"]) == "query") {
      out.insert(str((*resolved)["name"]));
    }
  }
  return out;
}

// The query parameters an operation takes: its own and those of its path item.
std::set<std::string> effectiveQuery(const rapidjson::Document& doc, const char* path,
                                     const char* method) {
  const auto& item = doc["paths"][path];
  auto out = queryNames(item, sharedParams(doc));
  out.merge(queryNames(item[method], sharedParams(doc)));
  return out;
}

using Names = std::set<std::string>;
Names listQuery() {
  return {"allowWatchBookmarks",
          "continue",
          "fieldSelector",
          "labelSelector",
          "limit",
          "pretty",
          "resourceVersion",
          "resourceVersionMatch",
          "sendInitialEvents",
          "timeoutSeconds",
          "watch"};
}
Names writeQuery() { return {"dryRun", "fieldManager", "fieldValidation", "pretty"}; }
Names patchQuery() { return {"dryRun", "fieldManager", "fieldValidation", "force", "pretty"}; }
Names deleteQuery() {
  return {
      "dryRun",           "gracePeriodSeconds", "ignoreStoreReadErrorWithClusterBreakingPotential",
      "orphanDependents", "propagationPolicy",  "pretty"};
}
Names deleteCollectionQuery() {
  return {"continue",
          "dryRun",
          "fieldSelector",
          "gracePeriodSeconds",
          "ignoreStoreReadErrorWithClusterBreakingPotential",
          "labelSelector",
          "limit",
          "orphanDependents",
          "pretty",
          "propagationPolicy",
          "resourceVersion",
          "resourceVersionMatch",
          "sendInitialEvents",
          "timeoutSeconds"};
}

void expectOp(const rapidjson::Document& doc, const char* path, const char* method,
              std::string_view operationId, std::string_view action, std::string_view kind,
              const Names& query) {
  ASSERT_TRUE(doc["paths"].HasMember(path)) << path;
  ASSERT_TRUE(doc["paths"][path].HasMember(method)) << path << " " << method;
  const auto& op = doc["paths"][path][method];
  EXPECT_EQ(str(op["operationId"]), operationId) << path << " " << method;
  EXPECT_EQ(str(op["x-kubernetes-action"]), action) << operationId;
  EXPECT_EQ(str(op["x-kubernetes-group-version-kind"]["kind"]), kind) << operationId;
  EXPECT_EQ(effectiveQuery(doc, path, method), query) << operationId;
}

// kubectl apply/create/replace use server-side field validation (and --dry-run=server)
// only when the PATCH operation of the object's kind lists fieldValidation (dryRun,
// fieldManager) among its own parameters; otherwise they fetch /openapi/v2 as protobuf.
// kubectl takes the first matching PATCH operation in map order, so every one must do.
TEST(OpenApi, KubectlFindsServerSideValidationOnEveryPatchableKind) {
  int checked = 0;
  for (const auto& r : builtinResources()) {
    if (!r.hasVerb("patch")) continue;
    const auto doc = parse(openApiV3Document(r.apiVersion));
    const auto* shared = sharedParams(doc);
    int patchOps = 0;
    for (const auto& path : doc["paths"].GetObject()) {
      if (!path.value.HasMember("patch")) continue;
      const auto& op = path.value["patch"];
      const auto& gvk = op["x-kubernetes-group-version-kind"];
      if (str(gvk["group"]) != r.group || str(gvk["version"]) != r.version ||
          str(gvk["kind"]) != r.kind) {
        continue;
      }
      ++patchOps;
      const auto own = queryNames(op, shared);  // kubectl ignores path-level parameters
      for (const char* name : {"fieldValidation", "dryRun", "fieldManager"}) {
        EXPECT_TRUE(own.contains(name)) << str(path.name) << ": PATCH lacks " << name;
      }
    }
    EXPECT_GE(patchOps, 1) << r.apiVersion << " " << r.kind;
    ++checked;
  }
  EXPECT_GE(checked, 30);
}

TEST(OpenApi, ResourceOperationsAndParametersLikeUpstream) {
  const auto v1 = parse(openApiV3Document("v1"));
  const char* pods = "/api/v1/namespaces/{namespace}/pods";
  const char* pod = "/api/v1/namespaces/{namespace}/pods/{name}";
  expectOp(v1, pods, "get", "listCoreV1NamespacedPod", "list", "Pod", listQuery());
  expectOp(v1, pods, "post", "createCoreV1NamespacedPod", "post", "Pod", writeQuery());
  expectOp(v1, pods, "delete", "deletecollectionCoreV1NamespacedPod", "deletecollection", "Pod",
           deleteCollectionQuery());
  expectOp(v1, pod, "get", "readCoreV1NamespacedPod", "get", "Pod", {"pretty"});
  expectOp(v1, pod, "put", "replaceCoreV1NamespacedPod", "put", "Pod", writeQuery());
  expectOp(v1, pod, "patch", "patchCoreV1NamespacedPod", "patch", "Pod", patchQuery());
  expectOp(v1, pod, "delete", "deleteCoreV1NamespacedPod", "delete", "Pod", deleteQuery());
  expectOp(v1, "/api/v1/pods", "get", "listCoreV1PodForAllNamespaces", "list", "Pod", listQuery());
  expectOp(v1, "/api/v1/watch/namespaces/{namespace}/pods", "get", "watchCoreV1NamespacedPodList",
           "watchlist", "Pod", listQuery());
  expectOp(v1, "/api/v1/watch/namespaces/{namespace}/pods/{name}", "get",
           "watchCoreV1NamespacedPod", "watch", "Pod", listQuery());
  expectOp(v1, "/api/v1/watch/pods", "get", "watchCoreV1PodListForAllNamespaces", "watchlist",
           "Pod", listQuery());
  const char* status = "/api/v1/namespaces/{namespace}/pods/{name}/status";
  expectOp(v1, status, "get", "readCoreV1NamespacedPodStatus", "get", "Pod", {"pretty"});
  expectOp(v1, status, "put", "replaceCoreV1NamespacedPodStatus", "put", "Pod", writeQuery());
  expectOp(v1, status, "patch", "patchCoreV1NamespacedPodStatus", "patch", "Pod", patchQuery());
  EXPECT_FALSE(v1["paths"][status].HasMember("delete"));
  EXPECT_FALSE(v1["paths"][status].HasMember("post"));
  expectOp(v1, "/api/v1/namespaces/{namespace}/pods/{name}/binding", "post",
           "createCoreV1NamespacedPodBinding", "post", "Binding", writeQuery());
  expectOp(v1, "/api/v1/namespaces/{namespace}/pods/{name}/eviction", "post",
           "createCoreV1NamespacedPodEviction", "post", "Eviction", writeQuery());
  expectOp(v1, "/api/v1/namespaces/{namespace}/pods/{name}/log", "get",
           "readCoreV1NamespacedPodLog", "get", "Pod",
           {"container", "follow", "insecureSkipTLSVerifyBackend", "limitBytes", "pretty",
            "previous", "sinceSeconds", "stream", "tailLines", "timestamps"});
  const Names exec = {"command", "container", "stderr", "stdin", "stdout", "tty"};
  expectOp(v1, "/api/v1/namespaces/{namespace}/pods/{name}/exec", "get",
           "connectCoreV1GetNamespacedPodExec", "connect", "PodExecOptions", exec);
  expectOp(v1, "/api/v1/namespaces/{namespace}/pods/{name}/exec", "post",
           "connectCoreV1PostNamespacedPodExec", "connect", "PodExecOptions", exec);
  expectOp(v1, "/api/v1/nodes/{name}/proxy/{path}", "head", "connectCoreV1HeadNodeProxyWithPath",
           "connect", "NodeProxyOptions", {"path"});
  expectOp(v1, "/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", "post",
           "createCoreV1NamespacedServiceAccountToken", "post", "TokenRequest", writeQuery());

  // Cluster-scoped kinds: no namespace parameter, no ForAllNamespaces list.
  expectOp(v1, "/api/v1/nodes", "get", "listCoreV1Node", "list", "Node", listQuery());
  expectOp(v1, "/api/v1/nodes/{name}", "patch", "patchCoreV1Node", "patch", "Node", patchQuery());
  expectOp(v1, "/api/v1/watch/nodes/{name}", "get", "watchCoreV1Node", "watch", "Node",
           listQuery());
  expectOp(v1, "/api/v1/namespaces/{name}/finalize", "put", "replaceCoreV1NamespaceFinalize", "put",
           "Namespace", writeQuery());
  EXPECT_FALSE(v1["paths"]["/api/v1/namespaces"].HasMember("delete"));  // no deletecollection
  for (const auto& p : v1["paths"]["/api/v1/nodes/{name}"]["parameters"].GetArray()) {
    EXPECT_NE(str(p["name"]), "namespace");
  }

  // Path parameters are declared on the path item.
  std::set<std::string> pathParams;
  for (const auto& p : v1["paths"][pod]["parameters"].GetArray()) {
    if (str(p["in"]) == "path") pathParams.insert(str(p["name"]));
  }
  EXPECT_EQ(pathParams, (Names{"name", "namespace"}));

  // Request bodies: the kind for create/replace, a patch in each of the four patch types.
  const auto& patchBody = v1["paths"][pod]["patch"]["requestBody"]["content"];
  for (const char* mime :
       {"application/apply-patch+yaml", "application/json-patch+json",
        "application/merge-patch+json", "application/strategic-merge-patch+json"}) {
    ASSERT_TRUE(patchBody.HasMember(mime)) << mime;
    EXPECT_EQ(str(patchBody[mime]["schema"]["$ref"]),
              "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch");
  }
  EXPECT_EQ(str(v1["paths"][pods]["post"]["requestBody"]["content"]["*/*"]["schema"]["$ref"]),
            "#/components/schemas/io.k8s.api.core.v1.Pod");
  EXPECT_TRUE(v1["paths"][pods]["post"]["responses"].HasMember("201"));
  EXPECT_TRUE(v1["paths"][pods]["get"]["responses"]["200"]["content"].HasMember(
      "application/json;stream=watch"));

  const auto apps = parse(openApiV3Document("apps/v1"));
  const char* scale = "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale";
  expectOp(apps, scale, "get", "readAppsV1NamespacedDeploymentScale", "get", "Scale", {"pretty"});
  expectOp(apps, scale, "put", "replaceAppsV1NamespacedDeploymentScale", "put", "Scale",
           writeQuery());
  expectOp(apps, scale, "patch", "patchAppsV1NamespacedDeploymentScale", "patch", "Scale",
           patchQuery());
  EXPECT_EQ(str(apps["paths"][scale]["patch"]["x-kubernetes-group-version-kind"]["group"]),
            "autoscaling");

  const auto rbac = parse(openApiV3Document("rbac.authorization.k8s.io/v1"));
  expectOp(rbac, "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}", "patch",
           "patchRbacAuthorizationV1ClusterRole", "patch", "ClusterRole", patchQuery());
  expectOp(rbac, "/apis/rbac.authorization.k8s.io/v1/rolebindings", "get",
           "listRbacAuthorizationV1RoleBindingForAllNamespaces", "list", "RoleBinding",
           listQuery());
  const auto authz = parse(openApiV3Document("authorization.k8s.io/v1"));
  expectOp(authz, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "post",
           "createAuthorizationV1SelfSubjectAccessReview", "post", "SelfSubjectAccessReview",
           writeQuery());
}

// Every operation is named and typed, operationIds are unique, in v3 and in v2.
TEST(OpenApi, EveryOperationHasIdActionAndKind) {
  std::vector<rapidjson::Document> docs;
  for (const auto& gv : openApiV3GroupVersions()) docs.push_back(parse(openApiV3Document(gv.path)));
  docs.push_back(parse(openApiV2Document()));
  for (const auto& doc : docs) {
    std::set<std::string> ids;
    int ops = 0;
    for (const auto& path : doc["paths"].GetObject()) {
      for (const char* method : kMethods) {
        if (!path.value.HasMember(method)) continue;
        const auto& op = path.value[method];
        ++ops;
        ASSERT_TRUE(op.HasMember("operationId")) << str(path.name) << " " << method;
        EXPECT_TRUE(ids.insert(str(op["operationId"])).second)
            << "duplicate " << str(op["operationId"]);
        EXPECT_TRUE(op.HasMember("x-kubernetes-action")) << str(op["operationId"]);
        EXPECT_TRUE(op["x-kubernetes-group-version-kind"].HasMember("kind"))
            << str(op["operationId"]);
        EXPECT_TRUE(op["responses"].HasMember("200")) << str(op["operationId"]);
      }
    }
    EXPECT_GT(ops, 0);
  }
}

// The v2 document has the same operations; its query parameters are shared by $ref.
TEST(OpenApi, V2OperationsShareParametersByRef) {
  const auto doc = parse(openApiV2Document());
  const char* pod = "/api/v1/namespaces/{namespace}/pods/{name}";
  expectOp(doc, pod, "patch", "patchCoreV1NamespacedPod", "patch", "Pod", patchQuery());
  expectOp(doc, "/apis/apps/v1/namespaces/{namespace}/deployments", "delete",
           "deletecollectionAppsV1NamespacedDeployment", "deletecollection", "Deployment",
           deleteCollectionQuery());
  const auto& patch = doc["paths"][pod]["patch"];
  bool body = false;
  for (const auto& p : patch["parameters"].GetArray()) {
    if (p.HasMember("$ref")) {
      EXPECT_TRUE(str(p["$ref"]).starts_with("#/parameters/")) << str(p["$ref"]);
    } else if (str(p["in"]) == "body") {
      body = true;
      EXPECT_EQ(str(p["schema"]["$ref"]),
                "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch");
    }
  }
  EXPECT_TRUE(body);
  EXPECT_EQ(patch["consumes"].Size(), 4U);
  EXPECT_EQ(str(doc["parameters"]["fieldValidation"]["in"]), "query");
}

}  // namespace
}  // namespace kite::api
