#include "registry.h"

#include <algorithm>

namespace kite::controlplane::apiserver {

Registry Registry::builtin() {
  Registry r;
  addCoreKinds(r);
  addPodKind(r);
  addAppsKinds(r);
  addOtherKinds(r);
  addMoreKinds(r);
  addSchedulingKinds(r);
  addReviewKinds(r);
  addRbacKinds(r);
  return r;
}

void Registry::add(std::unique_ptr<ResourceType> type) { types_.push_back(std::move(type)); }

const ResourceType* Registry::find(std::string_view group, std::string_view version,
                                   std::string_view resource) const {
  for (const auto& t : types_) {
    const auto& i = t->info();
    if (i.group == group && i.version == version && i.resource == resource) return t.get();
  }
  return nullptr;
}

std::vector<std::string> Registry::groups() const {
  std::vector<std::string> out;
  for (const auto& t : types_) {
    if (std::find(out.begin(), out.end(), t->info().group) == out.end()) {
      out.push_back(t->info().group);
    }
  }
  return out;
}

std::vector<std::string> Registry::versionsOf(std::string_view group) const {
  std::vector<std::string> out;
  for (const auto& t : types_) {
    if (t->info().group == group &&
        std::find(out.begin(), out.end(), t->info().version) == out.end()) {
      out.push_back(t->info().version);
    }
  }
  return out;
}

}  // namespace kite::controlplane::apiserver
