// The generated table of built-in resources.

#include "kite/api/registry_info.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>

namespace kite::api {
namespace {

bool contains(std::span<const std::string_view> values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

TEST(RegistryInfo, Pods) {
  const ResourceInfo* pods = findBuiltinResource("", "v1", "pods");
  ASSERT_NE(pods, nullptr);
  EXPECT_EQ(pods->kind, "Pod");
  EXPECT_EQ(pods->listKind, "PodList");
  EXPECT_EQ(pods->apiVersion, "v1");
  EXPECT_EQ(pods->singular, "pod");
  EXPECT_TRUE(pods->namespaced);
  EXPECT_TRUE(contains(pods->shortNames, "po"));
  EXPECT_TRUE(contains(pods->categories, "all"));
  EXPECT_TRUE(pods->hasVerb("deletecollection"));
  EXPECT_TRUE(pods->hasVerb("watch"));
  for (const char* sub : {"status", "binding", "eviction", "log", "exec", "attach", "portforward",
                          "proxy", "ephemeralcontainers"}) {
    EXPECT_NE(pods->subresource(sub), nullptr) << sub;
  }
  const SubresourceInfo* eviction = pods->subresource("eviction");
  EXPECT_EQ(eviction->group, "policy");
  EXPECT_EQ(eviction->kind, "Eviction");
  EXPECT_EQ(pods->subresource("binding")->kind, "Binding");
  EXPECT_EQ(pods->subresource("status")->kind, "Pod");
  EXPECT_TRUE(contains(pods->subresource("status")->verbs, "patch"));
  EXPECT_EQ(pods->subresource("exec")->kind, "PodExecOptions");
  EXPECT_EQ(pods->subresource("scale"), nullptr);
}

TEST(RegistryInfo, ShortNamesScopesAndSubresources) {
  struct Want {
    std::string_view group, resource, shortName;
    bool namespaced;
  };
  for (const Want& w : {Want{"", "services", "svc", true},
                        Want{"apps", "deployments", "deploy", true},
                        Want{"apps", "replicasets", "rs", true},
                        Want{"", "namespaces", "ns", false},
                        Want{"", "nodes", "no", false},
                        Want{"", "configmaps", "cm", true},
                        Want{"", "persistentvolumes", "pv", false},
                        Want{"", "persistentvolumeclaims", "pvc", true},
                        Want{"networking.k8s.io", "ingresses", "ing", true},
                        Want{"", "serviceaccounts", "sa", true},
                        Want{"", "endpoints", "ep", true},
                        Want{"", "events", "ev", true},
                        Want{"events.k8s.io", "events", "ev", true},
                        Want{"apps", "daemonsets", "ds", true},
                        Want{"apps", "statefulsets", "sts", true},
                        Want{"batch", "cronjobs", "cj", true},
                        Want{"networking.k8s.io", "networkpolicies", "netpol", true},
                        Want{"storage.k8s.io", "storageclasses", "sc", false},
                        Want{"", "limitranges", "limits", true},
                        Want{"", "resourcequotas", "quota", true},
                        Want{"policy", "poddisruptionbudgets", "pdb", true},
                        Want{"scheduling.k8s.io", "priorityclasses", "pc", false},
                        Want{"", "replicationcontrollers", "rc", true}}) {
    const ResourceInfo* r = findBuiltinResource(w.group, "v1", w.resource);
    ASSERT_NE(r, nullptr) << w.resource;
    EXPECT_TRUE(contains(r->shortNames, w.shortName)) << w.resource;
    EXPECT_EQ(r->namespaced, w.namespaced) << w.resource;
  }
  for (const auto& [group, resource] : {std::pair{"batch", "jobs"},
                                        {"batch", "cronjobs"},
                                        {"apps", "daemonsets"},
                                        {"apps", "statefulsets"},
                                        {"", "services"},
                                        {"apps", "deployments"}}) {
    EXPECT_TRUE(contains(findBuiltinResource(group, "v1", resource)->categories, "all"))
        << resource;
  }
  EXPECT_FALSE(contains(findBuiltinResource("", "v1", "configmaps")->categories, "all"));

  const ResourceInfo* deploy = findBuiltinKind("apps/v1", "Deployment");
  ASSERT_NE(deploy, nullptr);
  EXPECT_EQ(deploy->resource, "deployments");
  EXPECT_EQ(deploy->subresource("scale")->group, "autoscaling");
  EXPECT_EQ(deploy->subresource("scale")->kind, "Scale");
  EXPECT_EQ(findBuiltinResource("", "v1", "serviceaccounts")->subresource("token")->kind,
            "TokenRequest");
  EXPECT_NE(findBuiltinResource("", "v1", "namespaces")->subresource("finalize"), nullptr);
  EXPECT_FALSE(findBuiltinResource("", "v1", "namespaces")->hasVerb("deletecollection"));
  EXPECT_NE(findBuiltinResource("", "v1", "nodes")->subresource("proxy"), nullptr);

  const ResourceInfo* ssar =
      findBuiltinResource("authorization.k8s.io", "v1", "selfsubjectaccessreviews");
  ASSERT_NE(ssar, nullptr);
  EXPECT_FALSE(ssar->namespaced);
  EXPECT_TRUE(ssar->listKind.empty());
  EXPECT_TRUE(ssar->hasVerb("create"));
  EXPECT_FALSE(ssar->hasVerb("get"));
  EXPECT_EQ(findBuiltinResource("", "v1", "bindings")->verbs.size(), 1U);
  EXPECT_EQ(findBuiltinResource("", "v1", "widgets"), nullptr);
}

TEST(RegistryInfo, NamesAreUnique) {
  std::set<std::string> seen;
  for (const auto& r : builtinResources()) {
    std::string key(r.apiVersion);
    key.append("/").append(r.resource);
    EXPECT_TRUE(seen.insert(key).second) << key;
    EXPECT_FALSE(r.verbs.empty()) << key;
  }
  EXPECT_GE(seen.size(), 40U);
}

}  // namespace
}  // namespace kite::api
