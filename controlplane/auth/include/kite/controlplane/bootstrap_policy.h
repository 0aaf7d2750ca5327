#pragma once
// The built-in RBAC policy kite server writes on start, after upstream's bootstrap policy:
// cluster-admin/admin/edit/view (admin, edit and view aggregate the roles labelled
// rbac.authorization.k8s.io/aggregate-to-{admin,edit,view}), system:discovery,
// system:basic-user, system:public-info-viewer, the roles of kite's own components
// (system:node, system:node-proxier, system:kube-scheduler, system:kube-controller-manager,
// system:node-bootstrapper) and their ClusterRoleBindings. Every object carries the label
// kubernetes.io/bootstrapping=rbac-defaults and the annotation
// rbac.authorization.kubernetes.io/autoupdate=true.

#include <vector>

#include "kite/api/rbac/v1/types.h"
#include "kite/controlplane/store.h"

namespace kite::controlplane {

std::vector<api::rbac::v1::ClusterRole> bootstrapClusterRoles();
std::vector<api::rbac::v1::ClusterRoleBinding> bootstrapClusterRoleBindings();

// The rules of system:node: what the node authorizer grants a node beyond the objects its
// pods reference.
std::vector<api::rbac::v1::PolicyRule> nodeRules();

struct BootstrapResult {
  int created = 0;
  int updated = 0;
};

// Creates the missing roles and bindings. Existing ones whose autoupdate annotation is
// "true" get what is missing added (rules, aggregation selectors, subjects, labels and
// annotations), as upstream reconciles them; anything else an administrator changed stays.
// Throws StoreError when the store fails.
BootstrapResult ensureBootstrapPolicy(Store& store);

}  // namespace kite::controlplane
