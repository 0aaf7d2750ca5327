#include "kite/controlplane/request_authenticator.h"

#include <algorithm>
#include <stdexcept>

#include "kite/pki/service_account_token.h"

namespace kite::controlplane {

namespace {

class RequestAuthenticator final : public Authenticator {
 public:
  explicit RequestAuthenticator(RequestAuthenticatorOptions options)
      : options_(std::move(options)) {
    if (options_.audiences.empty()) options_.audiences = options_.issuers;
  }

  std::optional<UserInfo> authenticate(const http::Request& request) override {
    if (auto auth = request.header("authorization")) {
      std::string_view value = *auth;
      constexpr std::string_view kBearer = "Bearer ";
      if (value.size() <= kBearer.size() ||
          !std::equal(kBearer.begin(), kBearer.end(), value.begin(),
                      [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        throw std::invalid_argument("unsupported authorization scheme");
      }
      return fromToken(value.substr(kBearer.size()));
    }
    if (request.peer) {
      UserInfo user;
      user.name = request.peer->commonName;
      user.groups = request.peer->organizations;
      if (user.name.empty()) throw std::invalid_argument("client certificate without a CN");
      return user;
    }
    return std::nullopt;
  }

 private:
  UserInfo fromToken(std::string_view token) {
    if (token.find('.') != std::string_view::npos && !options_.serviceAccountKeys.empty()) {
      pki::TokenVerifyOptions verify;
      verify.issuers = options_.issuers;
      verify.audiences = options_.audiences;
      auto result = pki::verifyServiceAccountToken(token, options_.serviceAccountKeys, verify);
      if (!result.ok()) throw std::invalid_argument(result.error);
      UserInfo user;
      user.name = result.claims.subject();
      user.uid = result.claims.serviceAccountUid;
      user.groups = {"system:serviceaccounts",
                     "system:serviceaccounts:" + result.claims.namespaceName};
      return user;
    }
    if (options_.joinToken) {
      try {
        if (pki::JoinToken::parse(token).sameSecret(*options_.joinToken)) {
          return UserInfo{kBootstrapUser, {kBootstrapGroup}, ""};
        }
      } catch (const std::exception&) {
        // Not a join token either.
      }
    }
    throw std::invalid_argument("invalid bearer token");
  }

  RequestAuthenticatorOptions options_;
};

class MastersOnly final : public Authorizer {
 public:
  Decision authorize(const UserInfo& user, const Attributes& attributes) override {
    (void)attributes;
    const bool master =
        std::find(user.groups.begin(), user.groups.end(), "system:masters") != user.groups.end();
    return {master, master ? "" : "RBAC: access denied"};
  }
};

}  // namespace

std::shared_ptr<Authenticator> newRequestAuthenticator(RequestAuthenticatorOptions options) {
  return std::make_shared<RequestAuthenticator>(std::move(options));
}

std::shared_ptr<Authorizer> newMastersOnlyAuthorizer() { return std::make_shared<MastersOnly>(); }

}  // namespace kite::controlplane
