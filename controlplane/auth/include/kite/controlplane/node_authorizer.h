#pragma once
// Nodes' access, after upstream's Node authorizer and NodeRestriction admission plugin
// (simplified). A node is a user "system:node:NAME" in group "system:nodes". It may:
//   - read nodes, pods, services, endpoints and endpointslices, and the rest of
//     system:node's rules (kite/controlplane/bootstrap_policy.h: nodeRules());
//   - get secrets, configmaps, persistentvolumeclaims, persistentvolumes and serviceaccounts
//     only when a pod bound to it references them (list/watch only by name, as kubelets do
//     with a metadata.name field selector), and create tokens only for those service
//     accounts;
//   - create/update/patch/delete only its own Node and node status, its own Lease in
//     kube-node-lease;
//   - update pod status, delete and evict only pods bound to it; create only mirror pods
//     bound to itself (checked on the object by checkNodeRestriction);
//   - create events, tokenreviews, subjectaccessreviews and certificatesigningrequests.
// Anything else gets no opinion (allowed = false), so a union with RBAC decides.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kite/api/rbac/v1/types.h"
#include "kite/controlplane/auth.h"
#include "kite/controlplane/store.h"

namespace kite::controlplane {

inline constexpr const char* kNodesGroup = "system:nodes";
inline constexpr const char* kNodeUserPrefix = "system:node:";
inline constexpr const char* kNodeLeaseNamespace = "kube-node-lease";

// The node's name when the user is a node ("system:node:NAME" in group system:nodes), else "".
std::string nodeNameOf(const UserInfo& user);

class NodeGraph;

class NodeAuthorizer final : public Authorizer {
 public:
  // Reads pods and persistent volume claims from the store before returning (throws
  // StoreError when it cannot), then follows them.
  explicit NodeAuthorizer(Store& store);
  ~NodeAuthorizer() override;
  NodeAuthorizer(const NodeAuthorizer&) = delete;
  NodeAuthorizer& operator=(const NodeAuthorizer&) = delete;

  // Denials carry upstream's reasons, e.g. "no relationship found between node 'n1' and
  // this object".
  Decision authorize(const UserInfo& user, const Attributes& attributes) override;

 private:
  std::unique_ptr<NodeGraph> graph_;
  std::vector<api::rbac::v1::PolicyRule> rules_;
};

// The first authorizer that allows decides; otherwise not allowed, with the others' reasons
// joined by newlines (upstream's union authorizer).
std::shared_ptr<Authorizer> newUnionAuthorizer(std::vector<std::shared_ptr<Authorizer>> members);

// NodeRestriction admission: what a node may write, checked on the objects. Call it after
// authorization for every create, update, patch and delete (and the status, eviction and
// binding subresources) by any user; it returns "" for non-node users and for allowed
// writes, otherwise the reason to refuse with 403 Forbidden (upstream's text, e.g.
// `node "n1" can only update pod status for pods with spec.nodeName set to itself`; the
// response message is `<resource> "<name>" is forbidden: <reason>`).
//   object:    the object as it would be stored (create, update, patch after applying
//              it), before defaulting and other admission — empty for delete/eviction;
//   oldObject: the stored object (update, patch, delete, status, eviction: the pod) —
//              empty for create.
// Both are JSON. Throws api::ParseError / api::FieldErrors if they do not decode.
std::string checkNodeRestriction(const UserInfo& user, const Attributes& attributes,
                                 std::string_view object, std::string_view oldObject);

}  // namespace kite::controlplane
