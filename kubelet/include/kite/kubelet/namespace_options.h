#pragma once
// Which Linux namespaces a pod's sandbox and containers share with the node
// or with each other, as upstream decides: hostNetwork/hostPID/hostIPC take
// the node's; otherwise network and IPC are the pod's, and PID is private to
// each container unless spec.shareProcessNamespace makes it the pod's.

#include "kite/api/core/v1/types.h"
#include "kite/cri/api.h"

namespace kite::kubelet {

cri::v1::NamespaceOption namespacesForPod(const api::core::v1::Pod& pod);

}  // namespace kite::kubelet
