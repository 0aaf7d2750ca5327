#pragma once
// A pod whose sandbox cannot be configured (an invalid hostname, an FQDN too
// long for the kernel, an unreadable resolv.conf). Upstream reports these as
// the pod's FailedCreatePodSandBox event; the pod stays pending and is retried.

#include <stdexcept>

namespace kite::kubelet {

class SandboxConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace kite::kubelet
