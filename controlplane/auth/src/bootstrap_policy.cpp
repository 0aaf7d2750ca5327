#include "kite/controlplane/bootstrap_policy.h"

#include <algorithm>
#include <string>

#include "kite/api/json.h"
#include "kite/api/time.h"
#include "kite/pki/random.h"

namespace kite::controlplane {

namespace {

namespace rbacv1 = api::rbac::v1;
using Strings = std::vector<std::string>;

constexpr const char* kGroup = "rbac.authorization.k8s.io";
constexpr const char* kBootstrapLabel = "kubernetes.io/bootstrapping";
constexpr const char* kAutoupdate = "rbac.authorization.kubernetes.io/autoupdate";
constexpr const char* kToAdmin = "rbac.authorization.k8s.io/aggregate-to-admin";
constexpr const char* kToEdit = "rbac.authorization.k8s.io/aggregate-to-edit";
constexpr const char* kToView = "rbac.authorization.k8s.io/aggregate-to-view";

// Verb sets as functions: vectors at namespace scope could throw before main.
Strings readVerbs() { return {"get", "list", "watch"}; }
Strings allVerbs() {
  return {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};
}

rbacv1::PolicyRule rule(Strings verbs, Strings groups, Strings resources, Strings names = {}) {
  rbacv1::PolicyRule r;
  r.verbs = std::move(verbs);
  r.apiGroups = std::move(groups);
  r.resources = std::move(resources);
  r.resourceNames = std::move(names);
  return r;
}

rbacv1::PolicyRule urls(Strings verbs, Strings paths) {
  rbacv1::PolicyRule r;
  r.verbs = std::move(verbs);
  r.nonResourceURLs = std::move(paths);
  return r;
}

void markDefault(api::meta::v1::ObjectMeta& m) {
  m.labels[kBootstrapLabel] = "rbac-defaults";
  m.annotations[kAutoupdate] = "true";
}

rbacv1::ClusterRole clusterRole(const std::string& name, std::vector<rbacv1::PolicyRule> rules,
                                std::map<std::string, std::string> labels = {}) {
  rbacv1::ClusterRole r;
  r.apiVersion = std::string(rbacv1::ClusterRole::kApiVersion);
  r.kind = std::string(rbacv1::ClusterRole::kKind);
  r.metadata.name = name;
  r.metadata.labels = std::move(labels);
  markDefault(r.metadata);
  r.rules = std::move(rules);
  return r;
}

rbacv1::ClusterRole aggregated(const std::string& name, const char* selectLabel,
                               std::map<std::string, std::string> labels = {}) {
  auto r = clusterRole(name, {}, std::move(labels));
  r.aggregationRule.emplace();
  api::meta::v1::LabelSelector s;
  s.matchLabels[selectLabel] = "true";
  r.aggregationRule->clusterRoleSelectors.push_back(std::move(s));
  return r;
}

rbacv1::Subject subject(const char* kind, const char* name) {
  rbacv1::Subject s;
  s.kind = kind;
  s.apiGroup = kGroup;
  s.name = name;
  return s;
}

rbacv1::ClusterRoleBinding binding(const std::string& name, const std::string& role,
                                   std::vector<rbacv1::Subject> subjects) {
  rbacv1::ClusterRoleBinding b;
  b.apiVersion = std::string(rbacv1::ClusterRoleBinding::kApiVersion);
  b.kind = std::string(rbacv1::ClusterRoleBinding::kKind);
  b.metadata.name = name;
  markDefault(b.metadata);
  b.roleRef.apiGroup = kGroup;
  b.roleRef.kind = "ClusterRole";
  b.roleRef.name = role;
  b.subjects = std::move(subjects);
  return b;
}

std::vector<rbacv1::PolicyRule> viewRules() {
  return {
      rule(readVerbs(), {""},
           {"configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status",
            "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
            "services", "services/status"}),
      rule(readVerbs(), {""},
           {"bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
            "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"}),
      rule(readVerbs(), {""}, {"namespaces"}),
      rule(readVerbs(), {"discovery.k8s.io"}, {"endpointslices"}),
      rule(readVerbs(), {"apps"},
           {"controllerrevisions", "daemonsets", "daemonsets/status", "deployments",
            "deployments/scale", "deployments/status", "replicasets", "replicasets/scale",
            "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status"}),
      rule(readVerbs(), {"autoscaling"},
           {"horizontalpodautoscalers", "horizontalpodautoscalers/status"}),
      rule(readVerbs(), {"batch"}, {"cronjobs", "cronjobs/status", "jobs", "jobs/status"}),
      rule(readVerbs(), {"policy"}, {"poddisruptionbudgets", "poddisruptionbudgets/status"}),
      rule(readVerbs(), {"networking.k8s.io"},
           {"ingresses", "ingresses/status", "networkpolicies"}),
      rule(readVerbs(), {"events.k8s.io"}, {"events"}),
  };
}

std::vector<rbacv1::PolicyRule> editRules() {
  return {
      rule({"impersonate"}, {""}, {"serviceaccounts"}),
      rule(allVerbs(), {""},
           {"pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"}),
      rule({"create"}, {""}, {"pods/eviction"}),
      rule(allVerbs(), {""},
           {"configmaps", "endpoints", "persistentvolumeclaims", "replicationcontrollers",
            "replicationcontrollers/scale", "secrets", "serviceaccounts", "services",
            "services/proxy"}),
      rule({"create"}, {""}, {"serviceaccounts/token"}),
      rule(allVerbs(), {"apps"},
           {"daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
            "replicasets/scale", "statefulsets", "statefulsets/scale"}),
      rule(allVerbs(), {"autoscaling"}, {"horizontalpodautoscalers"}),
      rule(allVerbs(), {"batch"}, {"cronjobs", "jobs"}),
      rule(allVerbs(), {"networking.k8s.io"}, {"ingresses", "networkpolicies"}),
      rule(allVerbs(), {"policy"}, {"poddisruptionbudgets"}),
      rule(allVerbs(), {"discovery.k8s.io"}, {"endpointslices"}),
  };
}

std::vector<rbacv1::PolicyRule> adminRules() {
  return {
      rule({"create"}, {"authorization.k8s.io"}, {"localsubjectaccessreviews"}),
      rule(allVerbs(), {kGroup}, {"rolebindings", "roles"}),
  };
}

std::string newUid() {
  // A random (version 4) UUID, as upstream gives every object.
  std::string hex = pki::randomHex(16);
  hex[12] = '4';
  static constexpr std::string_view kVariant = "89ab";
  hex[16] = kVariant[static_cast<unsigned char>(hex[16]) % 4];
  std::string out;
  for (std::size_t i = 0; i < hex.size(); ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    out.push_back(hex[i]);
  }
  return out;
}

template <class T>
void addMissing(std::vector<T>& have, const std::vector<T>& want, bool& changed) {
  for (const auto& w : want) {
    if (std::find(have.begin(), have.end(), w) == have.end()) {
      have.push_back(w);
      changed = true;
    }
  }
}

void addMissingMeta(api::meta::v1::ObjectMeta& have, const api::meta::v1::ObjectMeta& want,
                    bool& changed) {
  for (const auto& [k, v] : want.labels) {
    if (have.labels.emplace(k, v).second) changed = true;
  }
  for (const auto& [k, v] : want.annotations) {
    if (have.annotations.emplace(k, v).second) changed = true;
  }
}

bool reconcile(rbacv1::ClusterRole& have, const rbacv1::ClusterRole& want) {
  bool changed = false;
  addMissingMeta(have.metadata, want.metadata, changed);
  if (want.aggregationRule) {
    if (!have.aggregationRule) have.aggregationRule.emplace();
    addMissing(have.aggregationRule->clusterRoleSelectors,
               want.aggregationRule->clusterRoleSelectors, changed);
  } else {
    addMissing(have.rules, want.rules, changed);
  }
  return changed;
}

bool reconcile(rbacv1::ClusterRoleBinding& have, const rbacv1::ClusterRoleBinding& want) {
  bool changed = false;
  addMissingMeta(have.metadata, want.metadata, changed);
  // The roleRef is immutable: a binding pointing elsewhere is the administrator's choice.
  addMissing(have.subjects, want.subjects, changed);
  return changed;
}

template <class T>
void ensure(Store& store, const std::string& key, T want, BootstrapResult& result) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    const auto current = store.get(key);
    if (!current) {
      want.metadata.uid = newUid();
      want.metadata.creationTimestamp = api::Time::now();
      if (store.create(key, api::encodeJson(want)).succeeded) {
        ++result.created;
        return;
      }
      continue;  // created meanwhile: look again
    }
    T have = api::decodeJson<T>(current->value);
    const auto it = have.metadata.annotations.find(kAutoupdate);
    if (it != have.metadata.annotations.end() && it->second != "true") return;
    if (!reconcile(have, want)) return;
    if (store.update(key, api::encodeJson(have), current->modRevision).succeeded) {
      ++result.updated;
      return;
    }
  }
  throw StoreError(StoreErrorCode::kInternal, "bootstrap policy: " + key + " keeps changing");
}

}  // namespace

std::vector<rbacv1::PolicyRule> nodeRules() {
  return {
      rule({"create"}, {"authentication.k8s.io"}, {"tokenreviews"}),
      rule({"create"}, {"authorization.k8s.io"},
           {"localsubjectaccessreviews", "subjectaccessreviews"}),
      rule(readVerbs(), {""}, {"nodes", "services", "endpoints"}),
      rule({"create", "delete"}, {""}, {"nodes"}),
      rule({"patch", "update"}, {""}, {"nodes/status"}),
      rule({"patch", "update"}, {""}, {"nodes"}),
      rule({"create", "patch", "update"}, {"", "events.k8s.io"}, {"events"}),
      rule(readVerbs(), {""}, {"pods"}),
      rule({"create", "delete"}, {""}, {"pods"}),
      rule({"patch", "update"}, {""}, {"pods/status"}),
      rule({"create"}, {""}, {"pods/eviction"}),
      // Checked against the node's pods by the node authorizer.
      rule({"get"}, {""}, {"secrets", "configmaps", "persistentvolumeclaims", "persistentvolumes"}),
      rule({"get", "patch", "update"}, {""}, {"persistentvolumeclaims/status"}),
      rule({"create"}, {""}, {"serviceaccounts/token"}),
      rule({"create", "get", "list", "watch"}, {"certificates.k8s.io"},
           {"certificatesigningrequests"}),
      rule({"create", "delete", "get", "patch", "update"}, {"coordination.k8s.io"}, {"leases"}),
      rule(readVerbs(), {"discovery.k8s.io"}, {"endpointslices"}),
      rule(readVerbs(), {"storage.k8s.io"}, {"csidrivers", "volumeattachments"}),
      rule({"create", "delete", "get", "patch", "update"}, {"storage.k8s.io"}, {"csinodes"}),
      rule(readVerbs(), {"node.k8s.io"}, {"runtimeclasses"}),
  };
}

std::vector<rbacv1::ClusterRole> bootstrapClusterRoles() {
  std::vector<rbacv1::ClusterRole> roles;
  roles.push_back(clusterRole("cluster-admin", {rule({"*"}, {"*"}, {"*"}), urls({"*"}, {"*"})}));
  roles.push_back(aggregated("admin", kToAdmin));
  roles.push_back(aggregated("edit", kToEdit, {{kToAdmin, "true"}}));
  roles.push_back(aggregated("view", kToView, {{kToAdmin, "true"}, {kToEdit, "true"}}));
  roles.push_back(clusterRole("system:aggregate-to-admin", adminRules(), {{kToAdmin, "true"}}));
  roles.push_back(clusterRole("system:aggregate-to-edit", editRules(), {{kToEdit, "true"}}));
  roles.push_back(clusterRole("system:aggregate-to-view", viewRules(), {{kToView, "true"}}));
  roles.push_back(
      clusterRole("system:discovery",
                  {urls({"get"}, {"/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                                  "/openapi", "/openapi/*", "/readyz", "/version", "/version/"})}));
  roles.push_back(clusterRole(
      "system:basic-user", {rule({"create"}, {"authorization.k8s.io"},
                                 {"selfsubjectaccessreviews", "selfsubjectrulesreviews"}),
                            rule({"create"}, {"authentication.k8s.io"}, {"selfsubjectreviews"})}));
  roles.push_back(
      clusterRole("system:public-info-viewer",
                  {urls({"get"}, {"/healthz", "/livez", "/readyz", "/version", "/version/"})}));
  roles.push_back(
      clusterRole("system:service-account-issuer-discovery",
                  {urls({"get"}, {"/.well-known/openid-configuration", "/openid/v1/jwks"})}));
  roles.push_back(clusterRole("system:node", nodeRules()));
  roles.push_back(clusterRole(
      "system:node-proxier",
      {rule({"list", "watch"}, {""}, {"endpoints", "services"}), rule(readVerbs(), {""}, {"nodes"}),
       rule({"create", "patch", "update"}, {"", "events.k8s.io"}, {"events"}),
       rule({"list", "watch"}, {"discovery.k8s.io"}, {"endpointslices"}),
       rule({"list", "watch"}, {"networking.k8s.io"}, {"networkpolicies"}),
       rule({"list", "watch"}, {""}, {"namespaces", "pods"})}));
  // What the API server needs on kubelets (logs, exec, port-forward, node proxy), as upstream.
  roles.push_back(clusterRole(
      "system:kubelet-api-admin",
      {rule({"get", "list", "watch", "proxy"}, {""}, {"nodes"}),
       rule({"*"}, {""}, {"nodes/log", "nodes/metrics", "nodes/proxy", "nodes/stats"})}));
  roles.push_back(clusterRole("system:node-bootstrapper",
                              {rule({"create", "get", "list", "watch"}, {"certificates.k8s.io"},
                                    {"certificatesigningrequests"})}));
  roles.push_back(
      clusterRole("system:kube-scheduler",
                  {rule({"create", "patch", "update"}, {"", "events.k8s.io"}, {"events"}),
                   rule({"create"}, {"coordination.k8s.io"}, {"leases"}),
                   rule({"get", "update"}, {"coordination.k8s.io"}, {"leases"}, {"kube-scheduler"}),
                   rule({"delete", "get", "list", "watch"}, {""}, {"pods"}),
                   rule({"create"}, {""}, {"bindings", "pods/binding"}),
                   rule({"patch", "update"}, {""}, {"pods/status"}),
                   rule(readVerbs(), {""},
                        {"nodes", "namespaces", "persistentvolumeclaims", "persistentvolumes",
                         "replicationcontrollers", "services", "configmaps"}),
                   rule(readVerbs(), {"apps"}, {"replicasets", "statefulsets"}),
                   rule(readVerbs(), {"policy"}, {"poddisruptionbudgets"}),
                   rule(readVerbs(), {"storage.k8s.io"},
                        {"csidrivers", "csinodes", "csistoragecapacities", "storageclasses"}),
                   rule({"create"}, {"authentication.k8s.io"}, {"tokenreviews"}),
                   rule({"create"}, {"authorization.k8s.io"}, {"subjectaccessreviews"})}));
  // kite's controllers run under one identity (upstream splits them into a service account
  // per controller), so this role carries what all of them write.
  roles.push_back(clusterRole(
      "system:kube-controller-manager",
      {rule({"create", "patch", "update"}, {"", "events.k8s.io"}, {"events"}),
       rule({"create"}, {"coordination.k8s.io"}, {"leases"}),
       rule({"get", "update"}, {"coordination.k8s.io"}, {"leases"}, {"kube-controller-manager"}),
       rule({"list", "watch"}, {"*"}, {"*"}),
       rule(allVerbs(), {""},
            {"pods",
             "pods/status",
             "endpoints",
             "services",
             "services/status",
             "serviceaccounts",
             "secrets",
             "configmaps",
             "namespaces",
             "namespaces/finalize",
             "namespaces/status",
             "nodes",
             "nodes/status",
             "persistentvolumeclaims",
             "persistentvolumeclaims/status",
             "persistentvolumes",
             "persistentvolumes/status",
             "replicationcontrollers",
             "replicationcontrollers/status",
             "resourcequotas",
             "resourcequotas/status"}),
       rule({"create"}, {""}, {"pods/eviction", "serviceaccounts/token", "pods/binding"}),
       rule(allVerbs(), {"apps"},
            {"controllerrevisions", "daemonsets", "daemonsets/status", "deployments",
             "deployments/status", "deployments/scale", "replicasets", "replicasets/status",
             "replicasets/scale", "statefulsets", "statefulsets/status", "statefulsets/scale"}),
       rule(allVerbs(), {"batch"}, {"cronjobs", "cronjobs/status", "jobs", "jobs/status"}),
       rule(allVerbs(), {"discovery.k8s.io"}, {"endpointslices"}),
       rule(allVerbs(), {"policy"}, {"poddisruptionbudgets", "poddisruptionbudgets/status"}),
       rule(allVerbs(), {"certificates.k8s.io"},
            {"certificatesigningrequests", "certificatesigningrequests/approval",
             "certificatesigningrequests/status"}),
       rule({"approve", "sign"}, {"certificates.k8s.io"}, {"signers"}),
       rule({"create"}, {"authentication.k8s.io"}, {"tokenreviews"}),
       rule({"create"}, {"authorization.k8s.io"}, {"subjectaccessreviews"})}));
  return roles;
}

std::vector<rbacv1::ClusterRoleBinding> bootstrapClusterRoleBindings() {
  return {
      binding("cluster-admin", "cluster-admin", {subject("Group", "system:masters")}),
      binding("system:discovery", "system:discovery", {subject("Group", "system:authenticated")}),
      binding("system:basic-user", "system:basic-user", {subject("Group", "system:authenticated")}),
      binding(
          "system:public-info-viewer", "system:public-info-viewer",
          {subject("Group", "system:authenticated"), subject("Group", "system:unauthenticated")}),
      binding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery",
              {subject("Group", "system:serviceaccounts")}),
      // As upstream: no subjects; nodes get system:node's rules through the node authorizer,
      // which limits secrets, configmaps and volumes to what their pods reference.
      binding("system:node", "system:node", {}),
      // kite's agent runs its Service proxy in-process on the node's own credentials (where
      // k3s issues a separate system:kube-proxy certificate), so nodes get the proxier's read
      // rules too: Services, EndpointSlices and Nodes, nothing more.
      binding("system:node-proxier", "system:node-proxier",
              {subject("User", "system:kube-proxy"), subject("Group", "system:nodes")}),
      binding("system:kube-scheduler", "system:kube-scheduler",
              {subject("User", "system:kube-scheduler")}),
      binding("system:kube-controller-manager", "system:kube-controller-manager",
              {subject("User", "system:kube-controller-manager")}),
      // The API server's own client certificate towards kubelets (pki/kubelet_client.h).
      binding("kite:kube-apiserver-kubelet-client", "system:kubelet-api-admin",
              {subject("User", "kube-apiserver-kubelet-client")}),
      // kite's join token authenticates as group system:bootstrappers.
      binding("kite:node-bootstrapper", "system:node-bootstrapper",
              {subject("Group", "system:bootstrappers")}),
  };
}

BootstrapResult ensureBootstrapPolicy(Store& store) {
  BootstrapResult result;
  auto key = [](std::string_view resource, const std::string& name) {
    std::string k = "/registry/rbac.authorization.k8s.io/";
    k.append(resource).append("/").append(name);
    return k;
  };
  for (auto& r : bootstrapClusterRoles()) {
    const std::string k = key("clusterroles", r.metadata.name);
    ensure(store, k, std::move(r), result);
  }
  for (auto& b : bootstrapClusterRoleBindings()) {
    const std::string k = key("clusterrolebindings", b.metadata.name);
    ensure(store, k, std::move(b), result);
  }
  return result;
}

}  // namespace kite::controlplane
