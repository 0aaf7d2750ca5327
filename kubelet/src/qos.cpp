#include "kite/kubelet/qos.h"

#include <map>
#include <set>

namespace kite::kubelet {

namespace {
bool supported(const std::string& resource) { return resource == "cpu" || resource == "memory"; }
}  // namespace

QosClass qosClassOf(const api::core::v1::PodSpec& spec) {
  std::map<std::string, api::Quantity> requests;
  std::map<std::string, api::Quantity> limits;
  bool guaranteed = true;
  auto account = [&](const api::core::v1::Container& container) {
    for (const auto& [name, quantity] : container.resources.requests) {
      if (supported(name) && !quantity.isZero()) requests[name] += quantity;
    }
    std::set<std::string> limitsFound;
    for (const auto& [name, quantity] : container.resources.limits) {
      if (supported(name) && !quantity.isZero()) {
        limits[name] += quantity;
        limitsFound.insert(name);
      }
    }
    if (limitsFound.size() != 2) guaranteed = false;  // needs both cpu and memory limits
  };
  for (const auto& c : spec.initContainers) account(c);
  for (const auto& c : spec.containers) account(c);

  if (requests.empty() && limits.empty()) return QosClass::kBestEffort;
  if (guaranteed) {
    for (const auto& [name, request] : requests) {
      auto limit = limits.find(name);
      if (limit == limits.end() || limit->second != request) guaranteed = false;
    }
  }
  if (guaranteed && requests.size() == limits.size()) return QosClass::kGuaranteed;
  return QosClass::kBurstable;
}

}  // namespace kite::kubelet
