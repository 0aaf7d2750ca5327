#pragma once
// The kubelet's HTTPS server (port 10250): /healthz, /pods, /containerLogs, /exec, /attach,
// /portForward, /metrics and /stats/summary, as the upstream kubelet serves them to the API
// server (kubectl logs / exec / port-forward) and to monitoring.
//
// Every request is authenticated (a client certificate that verifies against
// --client-ca-file, or a bearer token the API server accepts in a TokenReview; anonymous
// requests get 401 unless --anonymous-auth) and authorized by a SubjectAccessReview on
// nodes/<subresource> (see server/request_path.h). Exec, attach and port-forward ask the CRI
// runtime for a streaming URL and proxy the upgraded connection (SPDY) to the runtime's
// streaming server, as the upstream kubelet does.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kite::cri {
class Runtime;
}
namespace kite::client {
class Client;
}

namespace kite::kubelet {

struct KubeletServerOptions {
  std::string address = "0.0.0.0";          // --address
  std::uint16_t port = 10250;               // --port (0: any free port, for tests)
  std::string tlsCertFile;                  // --tls-cert-file
  std::string tlsPrivateKeyFile;            // --tls-private-key-file
  std::string clientCaFile;                 // --client-ca-file
  bool authenticationTokenWebhook = false;  // --authentication-token-webhook
  bool anonymousAuth = false;               // --anonymous-auth (kite's default: off)
  // Authorization mode: Webhook (SubjectAccessReview to the API server) needs an API client;
  // AlwaysAllow is for standalone kubelets and tests.
  bool authorizeWithWebhook = true;
  std::string nodeName;  // the nodes/NAME requests are authorized against
};

struct KubeletUser {
  std::string name;
  std::string uid;
  std::vector<std::string> groups;
};

// The API server's answers to the kubelet: who a bearer token is (TokenReview) and whether a
// user may do something to this node (SubjectAccessReview). Thread-safe.
class KubeletAuthApi {
 public:
  virtual ~KubeletAuthApi() = default;
  // nullopt: the token is not valid.
  virtual std::optional<KubeletUser> reviewToken(const std::string& token) = 0;
  // (allowed, reason).
  virtual std::pair<bool, std::string> reviewAccess(const KubeletUser& user,
                                                    const std::string& verb,
                                                    const std::string& nodeName,
                                                    const std::string& subresource) = 0;
};

// TokenReview and SubjectAccessReview through an API client (the kubelet's kubeconfig; not
// owned, must outlive the result). The answers are cached briefly (2 minutes allowed, 30
// seconds denied, as upstream's defaults).
std::shared_ptr<KubeletAuthApi> makeApiServerAuth(client::Client& client);

// What the server reads from the kubelet beyond the runtime.
struct KubeletServerSources {
  cri::Runtime* runtime = nullptr;  // not owned; must outlive the server
  // The pods the kubelet runs, as a v1 PodList JSON (for /pods); unset: built from the
  // runtime's sandboxes.
  std::function<std::string()> podsJson;
  std::shared_ptr<KubeletAuthApi> authApi;  // needed for webhook authn/authz
};

class KubeletServer {
 public:
  virtual ~KubeletServer() = default;
  virtual std::uint16_t port() const = 0;
  virtual void stop() = 0;
};

// Binds and serves; throws std::runtime_error naming what failed (port in use, unreadable
// certificate, webhook modes without authApi).
std::unique_ptr<KubeletServer> startKubeletServer(const KubeletServerOptions& options,
                                                  KubeletServerSources sources);

// When --tls-cert-file is not given, the kubelet serves a self-signed certificate, kept as
// <rootDir>/pki/kubelet.crt and kubelet.key (made on first use, reused while valid), for
// `hostname` and `addresses`. Sets options.tlsCertFile and tlsPrivateKeyFile.
void ensureSelfSignedServingCertificate(KubeletServerOptions& options, const std::string& rootDir,
                                        const std::string& hostname,
                                        const std::vector<std::string>& addresses);

}  // namespace kite::kubelet
