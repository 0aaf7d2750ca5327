#pragma once
// Events the cluster controllers record (core/v1 Event, source.component as upstream's
// controllers name themselves, e.g. "persistentvolume-controller"). Best effort: a failure is
// logged, never thrown, since the event is not the controller's job.

#include <string>

#include "kite/api/core/v1/types.h"
#include "kite/client/client.h"

namespace kite::controlplane::controllers {

// involved: kind, namespace, name and uid of the object; type "Normal" or "Warning".
void clusterRecordEvent(client::Client& client, const std::string& component,
                        const api::core::v1::ObjectReference& involved, const std::string& type,
                        const std::string& reason, const std::string& message);

template <class T>
api::core::v1::ObjectReference clusterReferenceTo(const T& object) {
  api::core::v1::ObjectReference ref;
  ref.apiVersion = std::string(T::kApiVersion);
  ref.kind = std::string(T::kKind);
  ref.namespace_ = object.metadata.namespace_;
  ref.name = object.metadata.name;
  ref.uid = object.metadata.uid;
  ref.resourceVersion = object.metadata.resourceVersion;
  return ref;
}

}  // namespace kite::controlplane::controllers
