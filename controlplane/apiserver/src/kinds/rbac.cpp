// rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding — their
// validation (upstream's rule and roleRef checks) and kubectl's columns.
#include <string>

#include "../names.h"
#include "../registry.h"
#include "kite/api/labels.h"
#include "kite/api/rbac/v1/types.h"
#include "kite/api/time.h"

namespace kite::controlplane::apiserver {

namespace {

namespace rbacv1 = api::rbac::v1;
using api::FieldError;

constexpr const char* kRbacGroup = "rbac.authorization.k8s.io";

std::string indexed(std::string_view field, std::size_t i) {
  std::string out(field);
  out.append("[").append(std::to_string(i)).append("]");
  return out;
}

// Go's %#v of a []string, as upstream prints a bad list value: []string{"/a", "/b"}
std::string listText(const std::vector<std::string>& v) {
  std::string out = "[]string{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i != 0) out.append(", ");
    out.append(api::quoteValue(v[i]));
  }
  out.push_back('}');
  return out;
}

// An Invalid error whose value is printed as given (upstream prints non-string values with
// Go's %#v, unquoted).
FieldError invalidPrinted(std::string field, std::string printed, std::string detail) {
  return FieldError{api::ErrorType::Invalid, std::move(field), std::move(printed),
                    std::move(detail)};
}

// Upstream's ValidatePolicyRule.
void validateRules(std::vector<FieldError>& errors, const std::vector<rbacv1::PolicyRule>& rules,
                   bool namespaced) {
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i];
    const std::string path = indexed("rules", i);
    if (r.verbs.empty()) {
      errors.push_back(
          FieldError::required(path + ".verbs", "verbs must contain at least one value"));
    }
    if (!r.nonResourceURLs.empty()) {
      if (namespaced) {
        errors.push_back(invalidPrinted(path + ".nonResourceURLs", listText(r.nonResourceURLs),
                                        "namespaced rules cannot apply to non-resource URLs"));
      }
      if (!r.apiGroups.empty() || !r.resources.empty() || !r.resourceNames.empty()) {
        errors.push_back(
            invalidPrinted(path + ".nonResourceURLs", listText(r.nonResourceURLs),
                           "rules cannot apply to both regular resources and non-resource URLs"));
      }
      continue;
    }
    if (r.apiGroups.empty()) {
      errors.push_back(FieldError::required(path + ".apiGroups",
                                            "resource rules must supply at least one api group"));
    }
    if (r.resources.empty()) {
      errors.push_back(FieldError::required(path + ".resources",
                                            "resource rules must supply at least one resource"));
    }
  }
}

void validateRoleRef(std::vector<FieldError>& errors, const rbacv1::RoleRef& ref,
                     const std::vector<std::string>& kinds) {
  if (ref.apiGroup != kRbacGroup) {
    errors.push_back(FieldError::notSupported("roleRef.apiGroup", ref.apiGroup, {kRbacGroup}));
  }
  if (std::find(kinds.begin(), kinds.end(), ref.kind) == kinds.end()) {
    errors.push_back(FieldError::notSupported("roleRef.kind", ref.kind, kinds));
  }
  if (ref.name.empty()) {
    errors.push_back(FieldError::required("roleRef.name", ""));
  } else if (const std::string p = checkPathSegment(ref.name); !p.empty()) {
    errors.push_back(FieldError::invalid("roleRef.name", ref.name, p));
  }
}

// Upstream's ValidateRoleBindingSubject.
void validateSubjects(std::vector<FieldError>& errors, const std::vector<rbacv1::Subject>& subjects,
                      bool clusterScoped) {
  for (std::size_t i = 0; i < subjects.size(); ++i) {
    const auto& s = subjects[i];
    const std::string path = indexed("subjects", i);
    if (s.name.empty()) errors.push_back(FieldError::required(path + ".name", ""));
    if (s.kind == "ServiceAccount") {
      if (!s.name.empty()) {
        if (const std::string p = checkPathSegment(s.name); !p.empty()) {
          errors.push_back(FieldError::invalid(path + ".name", s.name, p));
        }
      }
      if (!s.apiGroup.empty()) {
        errors.push_back(FieldError::notSupported(path + ".apiGroup", s.apiGroup, {""}));
      }
      if (clusterScoped && s.namespace_.empty()) {
        errors.push_back(FieldError::required(path + ".namespace", ""));
      }
    } else if (s.kind == "User" || s.kind == "Group") {
      if (s.apiGroup != kRbacGroup) {
        errors.push_back(FieldError::notSupported(path + ".apiGroup", s.apiGroup, {kRbacGroup}));
      }
    } else {
      errors.push_back(
          FieldError::notSupported(path + ".kind", s.kind, {"ServiceAccount", "User", "Group"}));
    }
  }
}

// The value upstream prints for a changed roleRef (Go's %#v of rbac.RoleRef).
std::string roleRefText(const rbacv1::RoleRef& r) {
  std::string out = "rbac.RoleRef{APIGroup:\"";
  out.append(r.apiGroup).append("\", Kind:\"").append(r.kind).append("\", Name:\"");
  out.append(r.name).append("\"}");
  return out;
}

void checkRoleRefUnchanged(std::vector<FieldError>& errors, const rbacv1::RoleRef& now,
                           const rbacv1::RoleRef& old) {
  if (!(now == old)) {
    errors.push_back(invalidPrinted("roleRef", roleRefText(now), "cannot change roleRef"));
  }
}

TableColumn createdAtColumn() {
  return {"Created At", "date", "",
          "CreationTimestamp is a timestamp representing the server "
          "time when this object was created.",
          0};
}

std::vector<TableColumn> bindingColumns() {
  return {{"Role", "string", "", "RoleRef is the reference to the role.", 0},
          ageColumn(),
          {"Users", "string", "", "Users in the binding", 1},
          {"Groups", "string", "", "Groups in the binding", 1},
          {"ServiceAccounts", "string", "", "ServiceAccounts in the binding", 1}};
}

// kubectl's Role, Age, Users, Groups, ServiceAccounts cells of a binding.
template <class B>
std::vector<TableCell> bindingRow(const B& b, TimePoint now) {
  std::string users;
  std::string groups;
  std::string sas;
  auto add = [](std::string& list, std::string_view item) {
    if (!list.empty()) list.append(", ");
    list.append(item);
  };
  for (const auto& s : b.subjects) {
    if (s.kind == "User") {
      add(users, s.name);
    } else if (s.kind == "Group") {
      add(groups, s.name);
    } else if (s.kind == "ServiceAccount") {
      std::string sa = s.namespace_;
      if (!sa.empty()) sa.push_back(':');
      sa.append(s.name);
      add(sas, sa);
    }
  }
  std::string role = b.roleRef.kind;
  role.append("/").append(b.roleRef.name);
  return {role, humanAge(creationTime(b.metadata), now), users, groups, sas};
}

template <class T>
std::vector<TableCell> createdAtRow(const T& o, TimePoint /*now*/) {
  return {o.metadata.creationTimestamp.rfc3339()};
}

ResourceInfo rbacInfo(std::string_view resource) { return builtinInfo(kRbacGroup, "v1", resource); }

}  // namespace

void addRbacKinds(Registry& r) {
  KindHooks<rbacv1::Role> role;
  role.validate = [](std::vector<FieldError>& errors, const rbacv1::Role& o) {
    validateRules(errors, o.rules, true);
  };
  role.columns = {createdAtColumn()};
  role.row = createdAtRow<rbacv1::Role>;
  r.add(std::make_unique<TypedResource<rbacv1::Role>>(rbacInfo("roles"), std::move(role),
                                                      NameRule::kPathSegment));

  KindHooks<rbacv1::ClusterRole> clusterRole;
  clusterRole.validate = [](std::vector<FieldError>& errors, const rbacv1::ClusterRole& o) {
    if (o.aggregationRule) {
      // An aggregated role's rules are the union of the selected roles' rules: its own are
      // not checked (upstream's controller overwrites them).
      const auto& selectors = o.aggregationRule->clusterRoleSelectors;
      if (selectors.empty()) {
        errors.push_back(FieldError::required(
            "aggregationRule.clusterRoleSelectors",
            "at least one clusterRoleSelector required if aggregationRule is non-nil"));
      }
      for (std::size_t i = 0; i < selectors.size(); ++i) {
        try {
          (void)api::labels::Selector::fromLabelSelector(selectors[i]);
        } catch (const std::invalid_argument& e) {
          errors.push_back(FieldError::invalid(indexed("aggregationRule.clusterRoleSelectors", i),
                                               "", e.what()));
        }
      }
      return;
    }
    validateRules(errors, o.rules, false);
  };
  clusterRole.columns = {createdAtColumn()};
  clusterRole.row = createdAtRow<rbacv1::ClusterRole>;
  r.add(std::make_unique<TypedResource<rbacv1::ClusterRole>>(
      rbacInfo("clusterroles"), std::move(clusterRole), NameRule::kPathSegment));

  KindHooks<rbacv1::RoleBinding> binding;
  binding.validate = [](std::vector<FieldError>& errors, const rbacv1::RoleBinding& o) {
    validateRoleRef(errors, o.roleRef, {"Role", "ClusterRole"});
    validateSubjects(errors, o.subjects, false);
  };
  binding.validateUpdate = [](std::vector<FieldError>& errors, const rbacv1::RoleBinding& o,
                              const rbacv1::RoleBinding& old) {
    checkRoleRefUnchanged(errors, o.roleRef, old.roleRef);
  };
  binding.columns = bindingColumns();
  binding.row = bindingRow<rbacv1::RoleBinding>;
  r.add(std::make_unique<TypedResource<rbacv1::RoleBinding>>(
      rbacInfo("rolebindings"), std::move(binding), NameRule::kPathSegment));

  KindHooks<rbacv1::ClusterRoleBinding> clusterBinding;
  clusterBinding.validate = [](std::vector<FieldError>& errors,
                               const rbacv1::ClusterRoleBinding& o) {
    validateRoleRef(errors, o.roleRef, {"ClusterRole"});
    validateSubjects(errors, o.subjects, true);
  };
  clusterBinding.validateUpdate = [](std::vector<FieldError>& errors,
                                     const rbacv1::ClusterRoleBinding& o,
                                     const rbacv1::ClusterRoleBinding& old) {
    checkRoleRefUnchanged(errors, o.roleRef, old.roleRef);
  };
  clusterBinding.columns = bindingColumns();
  clusterBinding.row = bindingRow<rbacv1::ClusterRoleBinding>;
  r.add(std::make_unique<TypedResource<rbacv1::ClusterRoleBinding>>(
      rbacInfo("clusterrolebindings"), std::move(clusterBinding), NameRule::kPathSegment));
}

}  // namespace kite::controlplane::apiserver
