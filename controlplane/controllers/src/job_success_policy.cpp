#include "job_success_policy.h"

#include <algorithm>

#include "job_indexes.h"

namespace kite::controlplane::controllers {

std::optional<std::string> matchSuccessPolicy(const api::batch::v1::SuccessPolicy& policy,
                                              int32_t completions,
                                              const std::set<int32_t>& succeededIndexes) {
  if (succeededIndexes.empty()) return std::nullopt;
  for (std::size_t i = 0; i < policy.rules.size(); ++i) {
    const auto& rule = policy.rules[i];
    bool met = false;
    if (rule.succeededIndexes) {
      const auto required = parseIndexes(*rule.succeededIndexes, completions);
      if (required.empty()) continue;
      const auto done = std::count_if(required.begin(), required.end(),
                                      [&](int32_t x) { return succeededIndexes.contains(x); });
      met = rule.succeededCount ? done >= *rule.succeededCount
                                : done == static_cast<std::ptrdiff_t>(required.size());
    } else if (rule.succeededCount) {
      met = static_cast<int64_t>(succeededIndexes.size()) >= *rule.succeededCount;
    }
    if (met) return "Matched rules at index " + std::to_string(i);
  }
  return std::nullopt;
}

}  // namespace kite::controlplane::controllers
