#include "cluster_events.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace kite::controlplane::controllers {

void clusterRecordEvent(client::Client& client, const std::string& component,
                        const api::core::v1::ObjectReference& involved, const std::string& type,
                        const std::string& reason, const std::string& message) {
  api::core::v1::Event event;
  // Cluster-scoped objects' events go to "default", as upstream's recorder does.
  event.metadata.namespace_ = involved.namespace_.empty() ? "default" : involved.namespace_;
  event.metadata.generateName = involved.name + ".";
  event.involvedObject = involved;
  event.reason = reason;
  event.message = message;
  event.type = type;
  event.source.component = component;
  event.reportingComponent = component;
  event.firstTimestamp = api::Time::now();
  event.lastTimestamp = event.firstTimestamp;
  event.count = 1;
  try {
    client.create(event);
  } catch (const std::exception& e) {
    spdlog::debug("{}: event {} on {}/{} not recorded: {}", component, reason, involved.namespace_,
                  involved.name, e.what());
  }
}

}  // namespace kite::controlplane::controllers
