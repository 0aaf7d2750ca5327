#pragma once
// ?fieldSelector=: "spec.nodeName=n1,status.phase!=Failed" with the fields each kind
// supports (metadata.name and metadata.namespace everywhere).

#include <string>
#include <string_view>
#include <vector>

#include "api_object.h"
#include "resource_type.h"

namespace kite::controlplane::apiserver {

class FieldSelector {
 public:
  // Throws ApiError 400 for bad syntax or a field the kind does not support
  // (`field label not supported: spec.foo`).
  static FieldSelector parse(std::string_view text, const ResourceType& type);

  bool empty() const { return terms_.empty(); }
  bool matches(const ResourceType& type, const ApiObject& object) const;
  bool matches(const FieldValues& fields) const;
  // The value required for a field by an equality term, or "" (used to narrow a list to one
  // name).
  std::string requiredValue(std::string_view field) const;

 private:
  struct Term {
    std::string field;
    bool equals = true;
    std::string value;
  };
  std::vector<Term> terms_;
};

}  // namespace kite::controlplane::apiserver
