#pragma once
// A kubeconfig with one cluster, one user and one context (the one kubectl uses), written
// as YAML kubectl reads. Credentials are embedded (certificate-authority-data and
// client-certificate-data/client-key-data, or a bearer token), so the file is written
// 0600, atomically.

#include <filesystem>
#include <string>

namespace kite::pki {

struct Kubeconfig {
  std::string clusterName = "default";
  std::string userName = "default";
  std::string contextName = "default";
  std::string namespaceName;  // the context's namespace; omitted when empty

  std::string server;                   // "https://127.0.0.1:6443"
  std::string certificateAuthorityPem;  // CA bundle that signs the server's certificate

  // Either a client certificate and key, or a bearer token.
  std::string clientCertificatePem;
  std::string clientKeyPem;
  std::string token;

  std::string toYaml() const;
  // Writes toYaml() atomically with mode 0600; throws PkiError naming the path.
  void write(const std::filesystem::path& path) const;
};

}  // namespace kite::pki
