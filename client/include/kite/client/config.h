#pragma once
// Where the API server is and how to authenticate to it: loaded from a kubeconfig file
// (kubectl's rules for the file, the context and relative paths) or from the service account
// a pod runs with.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace kite::client {

struct RestConfig {
  // "https://127.0.0.1:6443", optionally with a path prefix.
  std::string server{};
  // PEM bundle of the CAs that sign the serving certificate; empty: the system's trust store.
  std::string caPem{};
  bool insecureSkipTlsVerify = false;
  // Host name checked against the certificate instead of the one in `server`.
  std::string tlsServerName{};
  // Client certificate (PEM, may carry a chain) and its key.
  std::string clientCertificatePem{};
  std::string clientKeyPem{};
  // Bearer token; tokenFile is re-read now and then (projected tokens rotate).
  std::string token{};
  std::filesystem::path tokenFile{};
  // The context's namespace; "default" when the kubeconfig names none.
  std::string namespace_ = "default";
  std::string userAgent = "kite";

  std::chrono::milliseconds connectTimeout{10'000};
  // Per read and write of a request; watches use their own (timeoutSeconds + margin).
  std::chrono::milliseconds requestTimeout{60'000};
  // Idle keep-alive connections kept per client.
  std::size_t maxIdleConnections = 8;
};

struct KubeconfigOptions {
  // A context other than current-context.
  std::string context{};
  // Overrides of the context's cluster, user and namespace.
  std::string cluster{};
  std::string user{};
  std::string namespace_{};
};

// Parses kubeconfig text; `origin` is the file it came from: relative paths in it (certificate-
// authority, client-certificate, client-key, tokenFile) resolve against its folder, and errors
// name it. Throws ConfigError.
RestConfig parseKubeconfig(std::string_view yaml, const std::filesystem::path& origin,
                           const KubeconfigOptions& options = {});

// Reads and parses a kubeconfig file. Throws ConfigError.
RestConfig loadKubeconfig(const std::filesystem::path& path, const KubeconfigOptions& options = {});

// The kubeconfig kubectl would use: `explicitPath` (a --kubeconfig flag) when not empty, else
// the first existing file of $KUBECONFIG (colon-separated; kite does not merge several), else
// ~/.kube/config. Empty when there is none.
std::filesystem::path defaultKubeconfigPath(const std::filesystem::path& explicitPath = {});

// The service account's configuration inside a pod: $KUBERNETES_SERVICE_HOST and
// $KUBERNETES_SERVICE_PORT, the token and CA in `serviceAccountDir`, the namespace file.
// Throws ConfigError when not running in a cluster.
inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";
RestConfig inClusterConfig(const std::filesystem::path& serviceAccountDir = kServiceAccountDir);

// `explicitPath`, else $KUBECONFIG / ~/.kube/config, else the in-cluster configuration.
RestConfig loadDefaultConfig(const std::filesystem::path& explicitPath = {},
                             const KubeconfigOptions& options = {});

}  // namespace kite::client
