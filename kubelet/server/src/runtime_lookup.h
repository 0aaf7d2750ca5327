#pragma once
// Finds a pod's sandbox and containers in the CRI runtime by the labels the kubelet puts on
// them (io.kubernetes.pod.namespace/name, io.kubernetes.container.name).

#include <optional>
#include <string>

#include "kite/cri/runtime.h"

namespace kite::kubelet::server {

struct FoundContainer {
  std::string id;
  std::string logPath;
  bool running = false;
};

// The pod's sandbox, the ready one first; nullopt when the runtime has none.
std::optional<std::string> findSandbox(cri::Runtime& runtime, const std::string& namespace_,
                                       const std::string& pod);

// The newest container of that name in the pod, or with `previous` the one before it;
// nullopt when there is none.
std::optional<FoundContainer> findContainer(cri::Runtime& runtime, const std::string& namespace_,
                                            const std::string& pod, const std::string& container,
                                            bool previous);

}  // namespace kite::kubelet::server
