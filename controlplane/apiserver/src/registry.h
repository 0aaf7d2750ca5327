#pragma once
// The resources this API server serves, by group/version/resource, and the discovery facts
// derived from them.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "resource_type.h"

namespace kite::controlplane::apiserver {

class Registry {
 public:
  // Every built-in kind kite serves.
  static Registry builtin();

  void add(std::unique_ptr<ResourceType> type);
  const ResourceType* find(std::string_view group, std::string_view version,
                           std::string_view resource) const;
  const std::vector<std::unique_ptr<ResourceType>>& all() const { return types_; }
  // Group names in the order upstream lists them ("" first).
  std::vector<std::string> groups() const;
  std::vector<std::string> versionsOf(std::string_view group) const;

 private:
  std::vector<std::unique_ptr<ResourceType>> types_;
};

// Registration functions, one per file in kinds/.
void addCoreKinds(Registry& registry);
void addPodKind(Registry& registry);
void addAppsKinds(Registry& registry);
void addOtherKinds(Registry& registry);
void addMoreKinds(Registry& registry);
void addReviewKinds(Registry& registry);
void addRbacKinds(Registry& registry);
void addSchedulingKinds(Registry& registry);

}  // namespace kite::controlplane::apiserver
