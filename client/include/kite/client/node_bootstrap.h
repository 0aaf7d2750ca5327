#pragma once
// How an agent gets its credentials from nothing but the server URL and the join token, as a
// k3s agent does:
//   1. GET /cacerts over an unverified connection and hash the exact bytes; trust that CA
//      only when the hash equals the one in the token (K10<hash>::server:<secret>). A short
//      token (the secret alone) cannot check it: the CA is then trusted on first use, with a
//      warning, and kept for every later start.
//   2. Make a key and a CSR for CN system:node:<name>, O system:nodes, and send it with the
//      token to /v1-kite/client-kubelet.crt; likewise the kubelet's serving certificate from
//      /v1-kite/serving-kubelet.crt. Keys never leave the agent.
//   3. Write <dir>/kubelet.kubeconfig with the node's client certificate.
// Later calls reuse what is on disk and renew a certificate (new key, new CSR) when it
// expires within renewBefore, or no longer fits the node name, its addresses or the CA.
// Everything under dir is 0600 in a 0700 folder.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace kite::client {

struct NodeBootstrapOptions {
  std::string server;  // "https://10.0.0.1:6443"
  std::string token;   // full (K10...) or short form
  std::string nodeName;
  std::vector<std::string> nodeIps;  // SANs of the serving certificate
  std::filesystem::path dir;         // e.g. /var/lib/kite/agent
  std::chrono::seconds renewBefore{std::chrono::hours(24 * 30)};
};

struct NodeCredentials {
  std::filesystem::path kubeconfig;  // the node's kubeconfig (client certificate embedded)
  std::filesystem::path serverCa;    // CA of the API server's (and kubelets') certificates
  std::filesystem::path clientCa;    // CA of client certificates (to check the API server's)
  std::filesystem::path servingCert;
  std::filesystem::path servingKey;
  bool clientRenewed = false;   // this call got a new client certificate
  bool servingRenewed = false;  // this call got a new serving certificate
  // The earliest notAfter of the two certificates: when to call again at the latest
  // (minus renewBefore).
  std::chrono::system_clock::time_point expires;
};

// Throws std::runtime_error saying what failed: the server unreachable, a CA that does not
// match the token ("refusing to trust"), a refused token or node password (the server's
// message), or a file that cannot be written.
NodeCredentials bootstrapNode(const NodeBootstrapOptions& options);

}  // namespace kite::client
