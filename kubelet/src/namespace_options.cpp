#include "kite/kubelet/namespace_options.h"

namespace kite::kubelet {

cri::v1::NamespaceOption namespacesForPod(const api::core::v1::Pod& pod) {
  const auto& spec = pod.spec;
  cri::v1::NamespaceOption out;
  out.set_network(spec.hostNetwork ? cri::v1::NODE : cri::v1::POD);
  out.set_ipc(spec.hostIPC ? cri::v1::NODE : cri::v1::POD);
  if (spec.hostPID) {
    out.set_pid(cri::v1::NODE);
  } else if (spec.shareProcessNamespace.value_or(false)) {
    out.set_pid(cri::v1::POD);
  } else {
    // Not CRI's zero value (POD): a container sees only its own processes.
    out.set_pid(cri::v1::CONTAINER);
  }
  // User namespaces (spec.hostUsers: false) are not supported yet: the
  // runtime's default is the node's user namespace, as with hostUsers: true.
  return out;
}

}  // namespace kite::kubelet
