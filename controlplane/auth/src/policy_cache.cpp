#include "policy_cache.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "kite/api/json.h"
#include "kite/api/labels.h"
#include "kite/controlplane/rbac.h"

namespace kite::controlplane {

namespace {

namespace rbacv1 = api::rbac::v1;

constexpr std::string_view kPrefix = "/registry/rbac.authorization.k8s.io/";

// "/registry/rbac.authorization.k8s.io/rolebindings/ns/name" -> {"rolebindings", "ns/name"}
std::pair<std::string_view, std::string_view> splitKey(std::string_view key) {
  if (key.substr(0, kPrefix.size()) != kPrefix) return {};
  key.remove_prefix(kPrefix.size());
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) return {};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

std::pair<std::string, std::string> splitNamespaced(std::string_view nsName) {
  const auto slash = nsName.find('/');
  if (slash == std::string_view::npos) return {};
  return {std::string(nsName.substr(0, slash)), std::string(nsName.substr(slash + 1))};
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  out.append(s).append("\"");
  return out;
}

std::string describeSubject(const rbacv1::Subject& s, std::string_view bindingNamespace) {
  std::string out = s.kind;
  out.push_back(' ');
  if (s.kind == "ServiceAccount") {
    std::string name(s.namespace_.empty() ? bindingNamespace : std::string_view(s.namespace_));
    name.append("/").append(s.name);
    return out.append(quoted(name));
  }
  return out.append(quoted(s.name));
}

template <class Binding>
const rbacv1::Subject* appliesTo(const Binding& b, const UserInfo& user, std::string_view ns) {
  for (const auto& s : b.subjects) {
    if (rbac::subjectMatches(s, user, ns)) return &s;
  }
  return nullptr;
}

std::string notFound(std::string_view what, std::string_view name) {
  std::string out(what);
  out.append(".rbac.authorization.k8s.io ").append(quoted(name)).append(" not found");
  return out;
}

}  // namespace

std::string PolicyCache::Source::describe() const {
  std::string out = clusterBinding ? "ClusterRoleBinding " : "RoleBinding ";
  std::string name(bindingName);
  if (!clusterBinding) name.append("/").append(bindingNamespace);
  out.append(quoted(name)).append(" of ").append(roleRef->kind).append(" ");
  out.append(quoted(roleRef->name)).append(" to ");
  out.append(describeSubject(*subject, bindingNamespace));
  return out;
}

PolicyCache::PolicyCache(Store& store) {
  auth::StoreInformer::Handlers handlers;
  handlers.replaceAll = [this](const std::vector<KeyValue>& items) { replaceAll(items); };
  handlers.apply = [this](const std::vector<WatchEvent>& events) { apply(events); };
  informer_ =
      std::make_unique<auth::StoreInformer>(store, std::string(kPrefix), std::move(handlers));
}

void PolicyCache::replaceAll(const std::vector<KeyValue>& items) {
  std::unique_lock lock(mutex_);
  roles_.clear();
  clusterRoles_.clear();
  roleBindings_.clear();
  clusterRoleBindings_.clear();
  for (const auto& kv : items) put(kv);
  aggregate();
}

void PolicyCache::apply(const std::vector<WatchEvent>& events) {
  std::unique_lock lock(mutex_);
  for (const auto& e : events) {
    if (e.type == WatchEventType::kPut) {
      put(e.kv);
    } else {
      remove(e.kv.key);
    }
  }
  aggregate();
}

void PolicyCache::put(const KeyValue& kv) {
  const auto [resource, rest] = splitKey(kv.key);
  try {
    if (resource == "clusterroles") {
      clusterRoles_[std::string(rest)] = api::decodeJson<rbacv1::ClusterRole>(kv.value);
    } else if (resource == "clusterrolebindings") {
      clusterRoleBindings_[std::string(rest)] =
          api::decodeJson<rbacv1::ClusterRoleBinding>(kv.value);
    } else if (resource == "roles") {
      roles_[std::string(rest)] = api::decodeJson<rbacv1::Role>(kv.value).rules;
    } else if (resource == "rolebindings") {
      auto [ns, name] = splitNamespaced(rest);
      roleBindings_[ns][name] = api::decodeJson<rbacv1::RoleBinding>(kv.value);
    }
  } catch (const std::exception& e) {
    // Written by the API server after validation: a value that does not decode is corrupt;
    // it grants nothing.
    spdlog::error("RBAC cache: cannot decode {}: {}", kv.key, e.what());
    remove(kv.key);
  }
}

void PolicyCache::remove(std::string_view key) {
  const auto [resource, rest] = splitKey(key);
  if (resource == "clusterroles") {
    if (auto it = clusterRoles_.find(rest); it != clusterRoles_.end()) clusterRoles_.erase(it);
  } else if (resource == "clusterrolebindings") {
    if (auto it = clusterRoleBindings_.find(rest); it != clusterRoleBindings_.end()) {
      clusterRoleBindings_.erase(it);
    }
  } else if (resource == "roles") {
    if (auto it = roles_.find(rest); it != roles_.end()) roles_.erase(it);
  } else if (resource == "rolebindings") {
    auto [ns, name] = splitNamespaced(rest);
    if (auto it = roleBindings_.find(ns); it != roleBindings_.end()) {
      it->second.erase(name);
      if (it->second.empty()) roleBindings_.erase(it);
    }
  }
}

void PolicyCache::aggregate() {
  // Upstream's aggregation controller writes into an aggregated ClusterRole the union of the
  // rules of every other ClusterRole its selectors match; those may be aggregated themselves
  // (admin <- edit <- view), so this resolves them depth first, ignoring cycles.
  effective_.clear();
  std::set<std::string, std::less<>> resolving;
  std::function<const std::vector<rbacv1::PolicyRule>&(const std::string&)> resolve;
  resolve = [&](const std::string& name) -> const std::vector<rbacv1::PolicyRule>& {
    if (auto it = effective_.find(name); it != effective_.end()) return it->second;
    const auto& role = clusterRoles_.at(name);
    if (!role.aggregationRule) return effective_[name] = role.rules;
    std::vector<rbacv1::PolicyRule> rules;
    resolving.insert(name);
    std::vector<api::labels::Selector> selectors;
    for (const auto& s : role.aggregationRule->clusterRoleSelectors) {
      try {
        selectors.push_back(api::labels::Selector::fromLabelSelector(s));
      } catch (const std::invalid_argument&) {
        // Refused by validation; matches nothing here.
      }
    }
    for (const auto& [otherName, other] : clusterRoles_) {
      if (otherName == name || resolving.count(otherName) != 0) continue;
      const auto& labels = other.metadata.labels;
      const bool selected = std::any_of(selectors.begin(), selectors.end(), [&](const auto& sel) {
        return !sel.matchesNothing() && sel.matches(labels);
      });
      if (!selected) continue;
      for (const auto& rule : resolve(otherName)) {
        if (std::find(rules.begin(), rules.end(), rule) == rules.end()) rules.push_back(rule);
      }
    }
    resolving.erase(name);
    return effective_[name] = std::move(rules);
  };
  for (const auto& [name, role] : clusterRoles_) resolve(name);
}

std::vector<std::string> PolicyCache::visitRules(const UserInfo& user, std::string_view ns,
                                                 const Visitor& visit) const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> errors;
  for (const auto& [name, binding] : clusterRoleBindings_) {
    const rbacv1::Subject* subject = appliesTo(binding, user, "");
    if (subject == nullptr) continue;
    const auto it = binding.roleRef.kind == "ClusterRole" ? effective_.find(binding.roleRef.name)
                                                          : effective_.end();
    if (it == effective_.end()) {
      errors.push_back(notFound("clusterrole", binding.roleRef.name));
      continue;
    }
    const Source source{true, name, "", &binding.roleRef, subject};
    for (const auto& rule : it->second) {
      if (!visit(source, rule)) return errors;
    }
  }
  if (ns.empty()) return errors;
  const auto bindings = roleBindings_.find(ns);
  if (bindings == roleBindings_.end()) return errors;
  for (const auto& [name, binding] : bindings->second) {
    const rbacv1::Subject* subject = appliesTo(binding, user, ns);
    if (subject == nullptr) continue;
    const std::vector<rbacv1::PolicyRule>* rules = nullptr;
    if (binding.roleRef.kind == "ClusterRole") {
      if (auto it = effective_.find(binding.roleRef.name); it != effective_.end()) {
        rules = &it->second;
      } else {
        errors.push_back(notFound("clusterrole", binding.roleRef.name));
      }
    } else {
      std::string key(ns);
      key.append("/").append(binding.roleRef.name);
      if (auto it = roles_.find(key); it != roles_.end()) {
        rules = &it->second;
      } else {
        errors.push_back(notFound("role", binding.roleRef.name));
      }
    }
    if (rules == nullptr) continue;
    const Source source{false, name, ns, &binding.roleRef, subject};
    for (const auto& rule : *rules) {
      if (!visit(source, rule)) return errors;
    }
  }
  return errors;
}

}  // namespace kite::controlplane
