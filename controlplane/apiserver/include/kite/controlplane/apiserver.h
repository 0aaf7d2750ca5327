#pragma once
// kite's Kubernetes API server: REST over the Store for every built-in resource, with
// discovery, tables for kubectl, watches, patches, validation and defaulting. It plugs into
// kite's HTTPS server (kite/http/server.h) as a handler; authentication and authorization
// are seams (kite/controlplane/auth.h) so tests can run it without certificates.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kite/controlplane/auth.h"
#include "kite/controlplane/store.h"
#include "kite/http/server.h"

namespace kite::controlplane {

// What a service-account token is issued for (serviceaccounts/NAME/token).
struct ServiceAccountTokenRequest {
  std::string namespace_;
  std::string serviceAccountName;
  std::string serviceAccountUid;
  std::vector<std::string> audiences;  // empty: the issuer's default audiences
  std::int64_t expirationSeconds = 3600;
  std::string podName;  // when bound to a pod
  std::string podUid;
};
// Signs a token; the server's PKI provides it (kite/pki/service_account_token.h).
using ServiceAccountTokenIssuer = std::function<std::string(const ServiceAccountTokenRequest&)>;

// How the API server reaches kubelets for pods/log, pods/exec, pods/attach,
// pods/portforward and nodes/proxy (upstream's --kubelet-client-certificate,
// --kubelet-client-key and --kubelet-certificate-authority).
struct KubeletClientOptions {
  std::string certificateFile;  // empty: those subresources answer 503
  std::string privateKeyFile;
  // Verifies the kubelets' serving certificates; empty: not verified (as upstream without
  // --kubelet-certificate-authority, needed while kubelets serve self-signed certificates).
  std::string caFile;
};

struct ApiServerOptions {
  Store* store = nullptr;  // not owned; must outlive the server
  // Null: every request is anonymous and allowed (unit tests only).
  std::shared_ptr<Authenticator> authenticator;
  std::shared_ptr<Authorizer> authorizer;
  // SelfSubjectRulesReview; unset: answers are marked incomplete.
  RulesResolver rules;
  // NodeRestriction and the like; unset: nothing more is checked.
  ObjectAdmission objectAdmission;
  // Null: serviceaccounts/NAME/token answers 503.
  ServiceAccountTokenIssuer tokenIssuer;
  std::string serviceCidr = "10.43.0.0/16";
  int nodePortMin = 30000;
  int nodePortMax = 32767;
  // tolerationSeconds of the not-ready/unreachable NoExecute tolerations added to every pod.
  std::int64_t defaultNotReadyTolerationSeconds = 300;
  std::int64_t defaultUnreachableTolerationSeconds = 300;
  KubeletClientOptions kubeletClient;
  // Reported by /version.
  std::string gitVersion = "v1.32.0+kite";
};

class ApiServer {
 public:
  explicit ApiServer(ApiServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // The http::Handler: answers through the responder (now, or later for watches).
  void handle(http::Request& request, const std::shared_ptr<http::Responder>& responder);

  // Stops open watches; further requests get 503.
  void shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kite::controlplane
