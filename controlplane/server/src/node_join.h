#pragma once
// The endpoints agents join through, next to the Kubernetes API on the same port (k3s serves
// the same three):
//   GET  /cacerts                     the server CA bundle, unauthenticated: the agent trusts
//                                     it only if its hash equals the one in the join token
//   POST /v1-kite/client-kubelet.crt  a CSR for CN system:node:<name>, O system:nodes in, the
//                                     node's client certificate (client CA) out
//   POST /v1-kite/serving-kubelet.crt a CSR in, the kubelet's serving certificate (server CA,
//                                     SANs: the node name and its addresses) out
// The POSTs need the join token as a bearer token, the node name (Kite-Node-Name) and the
// node's password (Kite-Node-Password). The first join of a name stores the password's hash in
// the Secret kube-system/<name>.node-password.kite, as k3s does; later joins of that name must
// send the same password, so one token holder cannot take over another node's identity.

#include <memory>
#include <string>

#include "kite/controlplane/store.h"
#include "kite/http/server.h"
#include "kite/pki/server_pki.h"

namespace kite::controlplane {

class NodeJoinHandler {
 public:
  NodeJoinHandler(const pki::ServerPki& pki, Store& store);

  // True when the request is for one of these endpoints; it has then been answered.
  bool handle(const http::Request& request, const std::shared_ptr<http::Responder>& responder);

 private:
  http::Response issue(const http::Request& request, bool serving);
  void checkNodePassword(const std::string& node, const std::string& password);

  const pki::ServerPki& pki_;
  Store& store_;
};

}  // namespace kite::controlplane
