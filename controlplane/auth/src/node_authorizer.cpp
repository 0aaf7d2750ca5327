#include "kite/controlplane/node_authorizer.h"

#include <algorithm>

#include "kite/controlplane/bootstrap_policy.h"
#include "kite/controlplane/rbac.h"
#include "node_graph.h"

namespace kite::controlplane {

namespace {

bool oneOf(std::string_view v, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

Decision allow() { return {true, ""}; }
Decision noOpinion(std::string reason = {}) { return {false, std::move(reason)}; }

std::string noRelationship(std::string_view node) {
  std::string out = "no relationship found between node '";
  out.append(node).append("' and this object");
  return out;
}

}  // namespace

std::string nodeNameOf(const UserInfo& user) {
  constexpr std::string_view kPrefix = kNodeUserPrefix;
  if (user.name.rfind(kPrefix, 0) != 0) return {};
  if (std::find(user.groups.begin(), user.groups.end(), kNodesGroup) == user.groups.end()) {
    return {};
  }
  return user.name.substr(kPrefix.size());
}

NodeAuthorizer::NodeAuthorizer(Store& store)
    : graph_(std::make_unique<NodeGraph>(store)), rules_(nodeRules()) {}

NodeAuthorizer::~NodeAuthorizer() = default;

Decision NodeAuthorizer::authorize(const UserInfo& user, const Attributes& a) {
  if (user.name.rfind(kNodeUserPrefix, 0) != 0 ||
      std::find(user.groups.begin(), user.groups.end(), kNodesGroup) == user.groups.end()) {
    return noOpinion();
  }
  const std::string node = nodeNameOf(user);
  if (node.empty()) return noOpinion("unknown node");
  if (!a.isResourceRequest) return noOpinion();

  const auto& verb = a.verb;
  const auto& sub = a.subresource;
  if (a.group.empty()) {
    // Objects a node reaches only through its pods.
    if (oneOf(a.resource, {"secrets", "configmaps", "persistentvolumeclaims", "persistentvolumes",
                           "serviceaccounts"})) {
      const bool claimStatus = a.resource == "persistentvolumeclaims" && sub == "status" &&
                               oneOf(verb, {"get", "update", "patch"});
      const bool token = a.resource == "serviceaccounts" && sub == "token" && verb == "create";
      const bool read = sub.empty() && oneOf(verb, {"get", "list", "watch"});
      if (!claimStatus && !token && !read) {
        return noOpinion("can only get individual resources of this type");
      }
      if (a.name.empty()) return noOpinion("No Object name found");
      if (a.resource == "serviceaccounts" && !token) {
        return noOpinion("can only get individual resources of this type");
      }
      if (!graph_->references(node, a.resource, a.namespace_, a.name)) {
        return noOpinion(noRelationship(node));
      }
      return allow();
    }
    if (a.resource == "nodes") {
      if (sub.empty() && oneOf(verb, {"get", "list", "watch"})) return allow();
      const bool own = a.name == node || (a.name.empty() && verb == "create" && sub.empty());
      if (sub.empty() && oneOf(verb, {"create", "update", "patch", "delete"}) && own) {
        return allow();
      }
      if (sub == "status" && oneOf(verb, {"get", "update", "patch"}) && a.name == node) {
        return allow();
      }
      std::string reason = "node '";
      reason.append(node).append("' cannot modify node '").append(a.name).append("'");
      return noOpinion(std::move(reason));
    }
    if (a.resource == "pods") {
      if (sub.empty() && oneOf(verb, {"get", "list", "watch"})) return allow();
      // Mirror pods: the object is checked by checkNodeRestriction.
      if (sub.empty() && verb == "create") return allow();
      const bool mine = !a.name.empty() && graph_->podOnNode(node, a.namespace_, a.name);
      if (sub.empty() && verb == "delete" && mine) return allow();
      if (sub == "status" && oneOf(verb, {"get", "update", "patch"}) && mine) return allow();
      if (sub == "eviction" && verb == "create" && mine) return allow();
      if (!mine && (sub.empty() || sub == "status" || sub == "eviction")) {
        return noOpinion(noRelationship(node));
      }
      return noOpinion();
    }
  }
  if (a.group == "coordination.k8s.io" && a.resource == "leases") {
    if (a.namespace_ != kNodeLeaseNamespace) return noOpinion();
    if (!oneOf(verb, {"get", "create", "update", "patch", "delete"})) return noOpinion();
    if (a.name == node || (a.name.empty() && verb == "create")) return allow();
    return noOpinion("can only access node lease with the same name as the requesting node");
  }
  if (a.group == "storage.k8s.io" && a.resource == "csinodes" &&
      oneOf(verb, {"create", "update", "patch", "delete"})) {
    if (a.name == node || (a.name.empty() && verb == "create")) return allow();
    return noOpinion("can only access CSINode with the same name as the requesting node");
  }
  // Everything else is not subdivided per node: system:node's rules decide.
  if (rbac::rulesAllow(a, rules_)) return allow();
  return noOpinion();
}

}  // namespace kite::controlplane
