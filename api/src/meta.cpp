#include "kite/api/meta.h"

#include <algorithm>

namespace kite::api {

std::string fullName(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string out(ns);
  out += '/';
  out.append(name);
  return out;
}

const meta::v1::OwnerReference* controllerOf(const meta::v1::ObjectMeta& m) {
  for (const auto& ref : m.ownerReferences) {
    if (ref.controller.value_or(false)) return &ref;
  }
  return nullptr;
}

bool hasFinalizer(const meta::v1::ObjectMeta& m, std::string_view finalizer) {
  return std::find(m.finalizers.begin(), m.finalizers.end(), finalizer) != m.finalizers.end();
}

bool addFinalizer(meta::v1::ObjectMeta& m, std::string_view finalizer) {
  if (hasFinalizer(m, finalizer)) return false;
  m.finalizers.emplace_back(finalizer);
  return true;
}

bool removeFinalizer(meta::v1::ObjectMeta& m, std::string_view finalizer) {
  const auto before = m.finalizers.size();
  m.finalizers.erase(std::remove(m.finalizers.begin(), m.finalizers.end(), finalizer),
                     m.finalizers.end());
  return m.finalizers.size() != before;
}

}  // namespace kite::api
