#include "kite/controlplane/node_authorizer.h"

#include <gtest/gtest.h>

#include "auth_test_store.h"
#include "kite/api/core/v1/types.h"
#include "kite/controlplane/rbac.h"

namespace kite::controlplane {
namespace {

namespace corev1 = api::core::v1;
using testing::eventually;
using testing::TempStore;

UserInfo nodeUser(const std::string& name) {
  return UserInfo{"system:node:" + name, {"system:nodes", "system:authenticated"}, ""};
}

Attributes res(std::string verb, std::string group, std::string resource, std::string ns,
               std::string name, std::string sub = {}) {
  Attributes a;
  a.verb = std::move(verb);
  a.group = std::move(group);
  a.version = "v1";
  a.resource = std::move(resource);
  a.namespace_ = std::move(ns);
  a.name = std::move(name);
  a.subresource = std::move(sub);
  return a;
}

corev1::Pod pod(const std::string& ns, const std::string& name, const std::string& node) {
  corev1::Pod p;
  p.apiVersion = "v1";
  p.kind = "Pod";
  p.metadata.namespace_ = ns;
  p.metadata.name = name;
  p.spec.nodeName = node;
  corev1::Container c;
  c.name = "app";
  c.image = "busybox";
  p.spec.containers.push_back(c);
  return p;
}

corev1::Pod podWithReferences(const std::string& ns, const std::string& name,
                              const std::string& node) {
  auto p = pod(ns, name, node);
  p.spec.serviceAccountName = "runner";
  corev1::Volume secret;
  secret.name = "creds";
  secret.secret.emplace();
  secret.secret->secretName = "db-password";
  corev1::Volume projected;
  projected.name = "bundle";
  projected.projected.emplace();
  corev1::VolumeProjection cmSource;
  cmSource.configMap.emplace();
  cmSource.configMap->name = "projected-cm";
  projected.projected->sources.push_back(cmSource);
  corev1::Volume claim;
  claim.name = "data";
  claim.persistentVolumeClaim.emplace();
  claim.persistentVolumeClaim->claimName = "data-claim";
  p.spec.volumes = {secret, projected, claim};
  corev1::EnvVar env;
  env.name = "MODE";
  env.valueFrom.emplace();
  env.valueFrom->configMapKeyRef.emplace();
  env.valueFrom->configMapKeyRef->name = "settings";
  env.valueFrom->configMapKeyRef->key = "mode";
  p.spec.containers[0].env.push_back(env);
  corev1::EnvFromSource from;
  from.secretRef.emplace();
  from.secretRef->name = "api-token";
  p.spec.containers[0].envFrom.push_back(from);
  return p;
}

class NodeAuthorizerTest : public ::testing::Test {
 protected:
  void putPod(const corev1::Pod& p) {
    store.putObject("/registry/core/pods/" + p.metadata.namespace_ + "/" + p.metadata.name, p);
  }
  void putClaim(const std::string& ns, const std::string& name, const std::string& volume) {
    corev1::PersistentVolumeClaim c;
    c.metadata.namespace_ = ns;
    c.metadata.name = name;
    c.spec.volumeName = volume;
    store.putObject("/registry/core/persistentvolumeclaims/" + ns + "/" + name, c);
  }
  TempStore store;
};

TEST_F(NodeAuthorizerTest, OnlyNodesGetAnOpinion) {
  NodeAuthorizer authz(store.store());
  const UserInfo alice{"alice", {"system:authenticated"}, ""};
  EXPECT_FALSE(authz.authorize(alice, res("get", "", "nodes", "", "n1")).allowed);
  // The name alone is not enough: the group must be there too.
  const UserInfo impostor{"system:node:n1", {"system:authenticated"}, ""};
  EXPECT_FALSE(authz.authorize(impostor, res("get", "", "nodes", "", "n1")).allowed);
  EXPECT_EQ(nodeNameOf(nodeUser("n1")), "n1");
  EXPECT_EQ(nodeNameOf(impostor), "");
  const auto d = authz.authorize(UserInfo{"system:node:", {"system:nodes"}, ""},
                                 res("get", "", "nodes", "", "x"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "unknown node");
}

TEST_F(NodeAuthorizerTest, ReadsAndOwnObjects) {
  NodeAuthorizer authz(store.store());
  const auto n1 = nodeUser("n1");
  for (const char* r : {"nodes", "pods", "services", "endpoints"}) {
    EXPECT_TRUE(authz.authorize(n1, res("list", "", r, "", "")).allowed) << r;
    EXPECT_TRUE(authz.authorize(n1, res("watch", "", r, "", "")).allowed) << r;
  }
  EXPECT_TRUE(
      authz.authorize(n1, res("list", "discovery.k8s.io", "endpointslices", "", "")).allowed);
  EXPECT_TRUE(authz.authorize(n1, res("create", "", "nodes", "", "")).allowed);
  EXPECT_TRUE(authz.authorize(n1, res("update", "", "nodes", "", "n1")).allowed);
  EXPECT_TRUE(authz.authorize(n1, res("patch", "", "nodes", "", "n1", "status")).allowed);
  auto d = authz.authorize(n1, res("patch", "", "nodes", "", "n2", "status"));
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(authz.authorize(n1, res("delete", "", "nodes", "", "n2")).allowed);

  EXPECT_TRUE(
      authz.authorize(n1, res("update", "coordination.k8s.io", "leases", "kube-node-lease", "n1"))
          .allowed);
  EXPECT_TRUE(
      authz.authorize(n1, res("create", "coordination.k8s.io", "leases", "kube-node-lease", ""))
          .allowed);
  d = authz.authorize(n1, res("update", "coordination.k8s.io", "leases", "kube-node-lease", "n2"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "can only access node lease with the same name as the requesting node");
  EXPECT_FALSE(
      authz.authorize(n1, res("update", "coordination.k8s.io", "leases", "default", "n1")).allowed);

  EXPECT_TRUE(authz.authorize(n1, res("create", "", "events", "default", "")).allowed);
  EXPECT_TRUE(authz.authorize(n1, res("create", "events.k8s.io", "events", "default", "")).allowed);
  EXPECT_TRUE(
      authz.authorize(n1, res("create", "authentication.k8s.io", "tokenreviews", "", "")).allowed);
  EXPECT_TRUE(
      authz.authorize(n1, res("create", "authorization.k8s.io", "subjectaccessreviews", "", ""))
          .allowed);
  EXPECT_TRUE(
      authz
          .authorize(n1, res("create", "certificates.k8s.io", "certificatesigningrequests", "", ""))
          .allowed);
  EXPECT_FALSE(authz.authorize(n1, res("create", "", "services", "default", "")).allowed);
  EXPECT_FALSE(authz.authorize(n1, res("list", "", "namespaces", "", "")).allowed);
}

TEST_F(NodeAuthorizerTest, PodsBoundToTheNode) {
  putPod(pod("default", "mine", "n1"));
  putPod(pod("default", "theirs", "n2"));
  NodeAuthorizer authz(store.store());
  const auto n1 = nodeUser("n1");
  EXPECT_TRUE(authz.authorize(n1, res("update", "", "pods", "default", "mine", "status")).allowed);
  EXPECT_TRUE(authz.authorize(n1, res("delete", "", "pods", "default", "mine")).allowed);
  EXPECT_TRUE(
      authz.authorize(n1, res("create", "", "pods", "default", "mine", "eviction")).allowed);
  auto d = authz.authorize(n1, res("patch", "", "pods", "default", "theirs", "status"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "no relationship found between node 'n1' and this object");
  EXPECT_FALSE(authz.authorize(n1, res("delete", "", "pods", "default", "theirs")).allowed);
  EXPECT_FALSE(authz.authorize(n1, res("update", "", "pods", "default", "mine")).allowed);
  // Mirror pods: allowed here, the object is checked by checkNodeRestriction.
  EXPECT_TRUE(authz.authorize(n1, res("create", "", "pods", "default", "")).allowed);

  // Rebinding is followed by the watch.
  putPod(pod("default", "theirs", "n1"));
  EXPECT_TRUE(eventually(
      [&] { return authz.authorize(n1, res("delete", "", "pods", "default", "theirs")).allowed; }));
  store.remove("/registry/core/pods/default/theirs");
  EXPECT_TRUE(eventually([&] {
    return !authz.authorize(n1, res("delete", "", "pods", "default", "theirs")).allowed;
  }));
}

TEST_F(NodeAuthorizerTest, SecretsConfigMapsAndVolumesOnlyThroughPods) {
  putPod(podWithReferences("shop", "web", "n1"));
  putClaim("shop", "data-claim", "pv-7");
  putClaim("shop", "other-claim", "pv-8");
  NodeAuthorizer authz(store.store());
  const auto n1 = nodeUser("n1");
  const auto n2 = nodeUser("n2");
  auto get = [&](const UserInfo& u, const char* resource, const char* ns, const char* name) {
    return authz.authorize(u, res("get", "", resource, ns, name)).allowed;
  };
  EXPECT_TRUE(get(n1, "secrets", "shop", "db-password"));
  EXPECT_TRUE(get(n1, "secrets", "shop", "api-token"));
  EXPECT_TRUE(get(n1, "configmaps", "shop", "settings"));
  EXPECT_TRUE(get(n1, "configmaps", "shop", "projected-cm"));
  EXPECT_TRUE(get(n1, "persistentvolumeclaims", "shop", "data-claim"));
  EXPECT_TRUE(get(n1, "persistentvolumes", "", "pv-7"));
  EXPECT_FALSE(get(n1, "persistentvolumes", "", "pv-8"));
  EXPECT_FALSE(get(n1, "secrets", "shop", "unrelated"));
  EXPECT_FALSE(get(n1, "secrets", "other", "db-password"));
  EXPECT_FALSE(get(n2, "secrets", "shop", "db-password"));
  const auto d = authz.authorize(n2, res("get", "", "configmaps", "shop", "settings"));
  EXPECT_EQ(d.reason, "no relationship found between node 'n2' and this object");

  // A watch of one object (kubelets watch by metadata.name) is fine; listing all is not.
  EXPECT_TRUE(authz.authorize(n1, res("watch", "", "secrets", "shop", "db-password")).allowed);
  const auto list = authz.authorize(n1, res("list", "", "secrets", "shop", ""));
  EXPECT_FALSE(list.allowed);
  EXPECT_EQ(list.reason, "No Object name found");
  EXPECT_FALSE(authz.authorize(n1, res("update", "", "secrets", "shop", "db-password")).allowed);
  EXPECT_TRUE(
      authz.authorize(n1, res("create", "", "serviceaccounts", "shop", "runner", "token")).allowed);
  EXPECT_FALSE(authz.authorize(n1, res("create", "", "serviceaccounts", "shop", "default", "token"))
                   .allowed);

  // A claim bound later reaches its volume once the watch delivers it.
  putClaim("shop", "data-claim", "pv-9");
  EXPECT_TRUE(eventually([&] { return get(n1, "persistentvolumes", "", "pv-9"); }));
  EXPECT_FALSE(get(n1, "persistentvolumes", "", "pv-7"));
}

TEST_F(NodeAuthorizerTest, UnionTriesTheNodeAuthorizerThenRbac) {
  NodeAuthorizer* node = nullptr;
  auto nodeAuthz = std::make_shared<NodeAuthorizer>(store.store());
  node = nodeAuthz.get();
  auto rbacAuthz = std::make_shared<RbacAuthorizer>(store.store());
  auto authz = newUnionAuthorizer({nodeAuthz, rbacAuthz});
  const auto n1 = nodeUser("n1");
  EXPECT_TRUE(authz->authorize(n1, res("get", "", "nodes", "", "n1")).allowed);
  const auto d = authz->authorize(n1, res("get", "", "secrets", "x", "s"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "no relationship found between node 'n1' and this object");
  EXPECT_TRUE(
      authz
          ->authorize(UserInfo{"root", {"system:masters"}, ""}, res("get", "", "secrets", "x", "s"))
          .allowed);
  EXPECT_FALSE(
      node->authorize(UserInfo{"root", {"system:masters"}, ""}, res("get", "", "secrets", "x", "s"))
          .allowed);
}

// NodeRestriction admission on the objects.
class NodeRestrictionTest : public ::testing::Test {
 protected:
  std::string check(const Attributes& a, const std::string& object, const std::string& old) {
    return checkNodeRestriction(nodeUser("n1"), a, object, old);
  }
};

TEST_F(NodeRestrictionTest, MirrorPods) {
  auto p = pod("default", "static-web-n1", "n1");
  const auto create = res("create", "", "pods", "default", "");
  EXPECT_EQ(check(create, api::encodeJson(p), ""),
            "pod does not have \"kubernetes.io/config.mirror\" annotation, node \"n1\" can only "
            "create mirror pods");
  p.metadata.annotations["kubernetes.io/config.mirror"] = "abc";
  EXPECT_EQ(check(create, api::encodeJson(p), ""), "");
  p.spec.nodeName = "n2";
  EXPECT_EQ(check(create, api::encodeJson(p), ""),
            "node \"n1\" can only create pods with spec.nodeName set to itself");
  auto withSecret = podWithReferences("default", "x", "n1");
  withSecret.spec.serviceAccountName.clear();
  withSecret.metadata.annotations["kubernetes.io/config.mirror"] = "abc";
  EXPECT_EQ(check(create, api::encodeJson(withSecret), ""),
            "node \"n1\" can not create pods that reference secrets");
  // Other users are not restricted.
  EXPECT_EQ(
      checkNodeRestriction(UserInfo{"alice", {}, ""}, create, api::encodeJson(withSecret), ""), "");
}

TEST_F(NodeRestrictionTest, PodsBoundElsewhere) {
  const auto other = api::encodeJson(pod("default", "p", "n2"));
  const auto mine = api::encodeJson(pod("default", "p", "n1"));
  EXPECT_EQ(check(res("patch", "", "pods", "default", "p", "status"), other, other),
            "node \"n1\" can only update pod status for pods with spec.nodeName set to itself");
  EXPECT_EQ(check(res("patch", "", "pods", "default", "p", "status"), mine, mine), "");
  EXPECT_EQ(check(res("delete", "", "pods", "default", "p"), "", other),
            "node \"n1\" can only delete pods with spec.nodeName set to itself");
  EXPECT_EQ(check(res("delete", "", "pods", "default", "p"), "", mine), "");
  EXPECT_EQ(check(res("create", "", "pods", "default", "p", "eviction"), "", other),
            "node n1 can only evict pods with spec.nodeName set to itself");
}

TEST_F(NodeRestrictionTest, OwnNodeLabelsAndTaints) {
  corev1::Node n;
  n.metadata.name = "n2";
  EXPECT_EQ(check(res("create", "", "nodes", "", ""), api::encodeJson(n), ""),
            "node \"n1\" is not allowed to modify node \"n2\"");
  n.metadata.name = "n1";
  EXPECT_EQ(check(res("create", "", "nodes", "", ""), api::encodeJson(n), ""), "");
  auto labelled = n;
  labelled.metadata.labels["node-restriction.kubernetes.io/pool"] = "gold";
  EXPECT_EQ(check(res("create", "", "nodes", "", ""), api::encodeJson(labelled), ""),
            "node \"n1\" is not allowed to set the following labels: "
            "node-restriction.kubernetes.io/pool");
  EXPECT_EQ(
      check(res("update", "", "nodes", "", "n1"), api::encodeJson(labelled), api::encodeJson(n)),
      "node \"n1\" is not allowed to modify labels: node-restriction.kubernetes.io/pool");
  auto tainted = n;
  corev1::Taint t;
  t.key = "dedicated";
  t.effect = "NoSchedule";
  tainted.spec.taints.push_back(t);
  EXPECT_EQ(
      check(res("patch", "", "nodes", "", "n1"), api::encodeJson(tainted), api::encodeJson(n)),
      "node \"n1\" is not allowed to modify taints");
  auto relabelled = n;
  relabelled.metadata.labels["topology.kubernetes.io/zone"] = "a";
  EXPECT_EQ(
      check(res("patch", "", "nodes", "", "n1"), api::encodeJson(relabelled), api::encodeJson(n)),
      "");
  EXPECT_EQ(check(res("patch", "", "nodes", "", "n1", "status"), api::encodeJson(tainted),
                  api::encodeJson(n)),
            "");
}

TEST_F(NodeRestrictionTest, Leases) {
  EXPECT_EQ(check(res("create", "coordination.k8s.io", "leases", "kube-node-lease", ""),
                  R"({"metadata":{"name":"n2","namespace":"kube-node-lease"}})", ""),
            "can only access node lease with the same name as the requesting node");
  EXPECT_EQ(check(res("create", "coordination.k8s.io", "leases", "kube-node-lease", ""),
                  R"({"metadata":{"name":"n1","namespace":"kube-node-lease"}})", ""),
            "");
}

}  // namespace
}  // namespace kite::controlplane
