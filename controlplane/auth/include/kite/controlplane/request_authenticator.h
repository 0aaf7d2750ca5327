#pragma once
// The API server's authenticator: a verified client certificate (CN = user, O = groups), or
// a bearer token that is either a service-account JWT signed by the server's key or the node
// join token (bootstrap only: user "kite-bootstrap", group "system:bootstrappers"). Anything
// else that carries credentials is refused; no credentials → nullopt (the server answers 401).

#include <memory>
#include <string>
#include <vector>

#include "kite/controlplane/auth.h"
#include "kite/pki/join_token.h"
#include "kite/pki/key.h"

namespace kite::controlplane {

struct RequestAuthenticatorOptions {
  std::vector<pki::PublicKey> serviceAccountKeys;
  std::vector<std::string> issuers;    // e.g. https://kubernetes.default.svc.cluster.local
  std::vector<std::string> audiences;  // same as issuers by default
  std::optional<pki::JoinToken> joinToken;
};

inline constexpr const char* kBootstrapUser = "kite-bootstrap";
inline constexpr const char* kBootstrapGroup = "system:bootstrappers";

std::shared_ptr<Authenticator> newRequestAuthenticator(RequestAuthenticatorOptions options);

// Allows everything to system:masters and nothing to anyone else: the authorizer until RBAC
// is configured.
std::shared_ptr<Authorizer> newMastersOnlyAuthorizer();

}  // namespace kite::controlplane
