#pragma once
// Everything `kite server` needs for TLS and authentication, kept in <data-dir>/server/tls
// the way k3s keeps it, and the node join token in <data-dir>/server/token.
//
// kite uses two CAs, as k3s does: the server CA signs serving certificates (its bundle is
// what agents fetch and check against the join token's hash), and the client CA signs
// client certificates (admin, nodes); the API server trusts only the client CA for client
// authentication, so a serving certificate can never be used to log in.
//
// First start creates: both CAs (10 years), the API server's serving certificate, the admin
// client certificate (CN system:admin, O system:masters), the service-account signing key
// (P-256, ES256 tokens) and the join token. Later starts load all of it unchanged, so the
// CAs, keys and token stay stable; only the serving certificate is re-issued when the SANs
// wanted differ from those it has, when it expires within renewBefore, or when it no longer
// matches its key or the server CA. The admin certificate is renewed (same key) only when it
// expires within renewBefore. Throws PkiError naming the file when something on disk is
// unusable (a CA certificate without its key is never replaced silently).

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "kite/pki/authority.h"
#include "kite/pki/certificate.h"
#include "kite/pki/join_token.h"
#include "kite/pki/key.h"
#include "kite/pki/kubeconfig.h"

namespace kite::pki {

struct ServerPkiOptions {
  std::filesystem::path dataDir;
  std::string hostname;                 // empty: this machine's hostname
  std::vector<std::string> nodeIps;     // --node-ip
  std::vector<std::string> serviceIps;  // the first IP of each service CIDR, e.g. 10.43.0.1
  std::vector<std::string> tlsSans;     // --tls-san: DNS names or IP addresses
  std::string clusterDomain = "cluster.local";
  std::string token;  // --token (secret or full form); empty: generate
  std::chrono::seconds caValidity = kCaValidity;
  std::chrono::seconds certValidity = kDefaultCertValidity;
  std::chrono::seconds renewBefore = Days{90};
};

// Where each file lives; a pure function of the data dir.
struct ServerPkiPaths {
  std::filesystem::path tlsDir;  // <data-dir>/server/tls
  std::filesystem::path serverCaCert, serverCaKey;
  std::filesystem::path clientCaCert, clientCaKey;
  std::filesystem::path servingCert, servingKey;  // the API server's
  std::filesystem::path adminCert, adminKey;
  std::filesystem::path serviceAccountKey;
  std::filesystem::path token;  // <data-dir>/server/token

  static ServerPkiPaths forDataDir(const std::filesystem::path& dataDir);
};

inline constexpr const char* kAdminUser = "system:admin";
inline constexpr const char* kAdminGroup = "system:masters";
inline constexpr const char* kApiServerCommonName = "kube-apiserver";

struct ServerPki {
  ServerPkiPaths paths;
  CertificateAuthority serverCa;
  CertificateAuthority clientCa;
  // The exact bytes of server-ca.crt: what the server hands to agents and what the join
  // token's hash covers.
  std::string serverCaBundlePem;
  Certificate servingCertificate;
  PrivateKey servingKey;
  Certificate adminCertificate;
  PrivateKey adminKey;
  PrivateKey serviceAccountKey;
  JoinToken token;
  // The serving certificate's SANs as wanted by the options.
  std::vector<std::string> servingDnsNames;
  std::vector<std::string> servingIpAddresses;
  bool createdCas = false;       // this call created the CAs (a first start)
  bool servingReissued = false;  // this call (re-)issued the serving certificate
  bool adminReissued = false;    // this call (re-)issued the admin certificate

  // A kubeconfig for the admin user against serverUrl, trusting the server CA.
  Kubeconfig adminKubeconfig(const std::string& serverUrl) const;
};

ServerPki loadOrCreateServerPki(const ServerPkiOptions& options);

}  // namespace kite::pki
