#include "kite/kubelet/node_affinity.h"

#include <algorithm>
#include <optional>

namespace kite::kubelet {

namespace corev1 = api::core::v1;

namespace {

std::optional<long long> toInteger(const std::string& text) {
  try {
    std::size_t used = 0;
    const long long value = std::stoll(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
    // not a number
  }
  return std::nullopt;
}

bool requirementHolds(const corev1::NodeSelectorRequirement& r,
                      const std::map<std::string, std::string>& values) {
  const auto it = values.find(r.key);
  const bool present = it != values.end();
  const auto in = [&] {
    return present && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
  };
  if (r.operator_ == "In") return in();
  if (r.operator_ == "NotIn") return !in();
  if (r.operator_ == "Exists") return present;
  if (r.operator_ == "DoesNotExist") return !present;
  if (r.operator_ == "Gt" || r.operator_ == "Lt") {
    if (!present || r.values.size() != 1) return false;
    const auto have = toInteger(it->second);
    const auto want = toInteger(r.values.front());
    if (!have || !want) return false;
    return r.operator_ == "Gt" ? *have > *want : *have < *want;
  }
  return false;  // an unknown operator matches nothing
}

}  // namespace

bool nodeSelectorMatches(const corev1::NodeSelector& selector,
                         const std::map<std::string, std::string>& nodeLabels,
                         const std::string& nodeName) {
  const std::map<std::string, std::string> fields = {{"metadata.name", nodeName}};
  for (const auto& term : selector.nodeSelectorTerms) {
    if (term.matchExpressions.empty() && term.matchFields.empty()) continue;  // matches nothing
    const bool labelsHold =
        std::all_of(term.matchExpressions.begin(), term.matchExpressions.end(),
                    [&](const auto& r) { return requirementHolds(r, nodeLabels); });
    const bool fieldsHold = std::all_of(term.matchFields.begin(), term.matchFields.end(),
                                        [&](const auto& r) { return requirementHolds(r, fields); });
    if (labelsHold && fieldsHold) return true;
  }
  return false;
}

}  // namespace kite::kubelet
