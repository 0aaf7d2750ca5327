#include "node_quarantine.h"

namespace kite::controlplane::controllers {

void NodeQuarantine::track(const std::set<std::string>& missing, Clock::time_point now) {
  std::erase_if(nodes_, [&](const auto& entry) { return !missing.contains(entry.first); });
  for (const auto& node : missing) nodes_.try_emplace(node, Entry{.since = now});
}

std::vector<std::string> NodeQuarantine::due(Clock::time_point now) const {
  std::vector<std::string> out;
  for (const auto& [node, entry] : nodes_) {
    if (!entry.confirmed && now - entry.since >= period_) out.push_back(node);
  }
  return out;
}

void NodeQuarantine::confirm(const std::string& node) {
  if (auto it = nodes_.find(node); it != nodes_.end()) it->second.confirmed = true;
}

void NodeQuarantine::restart(const std::string& node, Clock::time_point now) {
  nodes_.insert_or_assign(node, Entry{.since = now});
}

bool NodeQuarantine::confirmedDeleted(const std::string& node) const {
  const auto it = nodes_.find(node);
  return it != nodes_.end() && it->second.confirmed;
}

std::optional<NodeQuarantine::Clock::time_point> NodeQuarantine::nextDue() const {
  std::optional<Clock::time_point> next;
  for (const auto& [node, entry] : nodes_) {
    if (entry.confirmed) continue;
    const auto at = entry.since + period_;
    if (!next || at < *next) next = at;
  }
  return next;
}

}  // namespace kite::controlplane::controllers
