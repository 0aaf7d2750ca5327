#pragma once
// Small helpers over object metadata that kubelet, API server and controllers share.

#include <string>
#include <string_view>
#include <vector>

#include "kite/api/meta/v1/types.h"

namespace kite::api {

// "namespace/name", or "name" for cluster-scoped objects (the cache key form).
std::string fullName(std::string_view ns, std::string_view name);
inline std::string fullName(const meta::v1::ObjectMeta& m) {
  return fullName(m.namespace_, m.name);
}

// The owner reference with controller: true, or nullptr.
const meta::v1::OwnerReference* controllerOf(const meta::v1::ObjectMeta& m);

// Graceful deletion has been requested (deletionTimestamp is set).
inline bool isBeingDeleted(const meta::v1::ObjectMeta& m) {
  return m.deletionTimestamp.has_value();
}

bool hasFinalizer(const meta::v1::ObjectMeta& m, std::string_view finalizer);
// Adds the finalizer unless present; returns whether it changed anything.
bool addFinalizer(meta::v1::ObjectMeta& m, std::string_view finalizer);
// Removes the finalizer; returns whether it changed anything.
bool removeFinalizer(meta::v1::ObjectMeta& m, std::string_view finalizer);

// The condition of the given type in any conditions list (PodCondition, NodeCondition,
// metav1 Condition...), or nullptr.
template <class Condition>
const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type) {
  for (const auto& c : conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}
template <class Condition>
Condition* findCondition(std::vector<Condition>& conditions, std::string_view type) {
  for (auto& c : conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

}  // namespace kite::api
