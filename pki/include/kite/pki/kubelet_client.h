#pragma once
// The API server's client certificate for talking to kubelets (logs, exec, attach,
// port-forward, node proxy), as upstream's --kubelet-client-certificate: user
// kube-apiserver-kubelet-client, no groups, signed by the client CA that kubelets trust
// (--client-ca-file). Its rights on nodes/proxy, nodes/log, ... come from the bootstrap
// policy's binding to system:kubelet-api-admin, as kubeadm sets it up.

#include <chrono>
#include <filesystem>

#include "kite/pki/authority.h"
#include "kite/pki/server_pki.h"

namespace kite::pki {

inline constexpr const char* kKubeletClientUser = "kube-apiserver-kubelet-client";

struct KubeletClientFiles {
  std::filesystem::path certFile;  // <data-dir>/server/tls/client-kube-apiserver-kubelet.crt
  std::filesystem::path keyFile;   // ... .key (0600)
};

// Loads the certificate, or issues it (reusing the key) when it is missing, does not match
// its key or the client CA, names another user, or expires within renewBefore. Throws
// PkiError naming the file that cannot be used.
KubeletClientFiles ensureKubeletClientCertificate(const ServerPki& pki,
                                                  std::chrono::seconds renewBefore = Days{90});

}  // namespace kite::pki
