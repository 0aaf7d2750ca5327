#pragma once
// The pod GC's quarantine of nodes that pods are bound to but the node cache lacks: a node is
// taken for deleted only once it has been missing for the whole quarantine (upstream: 40 s)
// and the API server then says NotFound, so a cache that lags behind a new node, or a node
// that is re-registering, never costs it its pods.
//
//   quarantine.track(missingNodes, now);
//   for (const auto& node : quarantine.due(now)) {
//     if (notFound(node)) quarantine.confirm(node); else quarantine.restart(node, now);
//   }
//   if (quarantine.confirmedDeleted(pod.spec.nodeName)) ...

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kite::controlplane::controllers {

class NodeQuarantine {
 public:
  using Clock = std::chrono::steady_clock;

  explicit NodeQuarantine(Clock::duration period) : period_(period) {}

  // The nodes now missing: new ones enter quarantine, those no longer missing (back in the
  // cache, or no pod bound to them any more) leave it.
  void track(const std::set<std::string>& missing, Clock::time_point now);
  // The nodes whose quarantine has passed and that are not yet confirmed deleted.
  std::vector<std::string> due(Clock::time_point now) const;
  // The API server says the node does not exist.
  void confirm(const std::string& node);
  // The API server has the node after all: it starts a fresh quarantine.
  void restart(const std::string& node, Clock::time_point now);
  bool confirmedDeleted(const std::string& node) const;
  // When the next quarantine ends; nullopt when none is running.
  std::optional<Clock::time_point> nextDue() const;

 private:
  struct Entry {
    Clock::time_point since;
    bool confirmed = false;
  };

  Clock::duration period_;
  std::map<std::string, Entry> nodes_;
};

}  // namespace kite::controlplane::controllers
