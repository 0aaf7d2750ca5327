#pragma once
// Who a request comes from and whether it may do what it asks: the authentication and
// authorization seams of the API server.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kite/http/server.h"

namespace kite::controlplane {

struct UserInfo {
  std::string name;                 // "system:admin", "system:node:n1", ...
  std::vector<std::string> groups;  // "system:masters", "system:authenticated", ...
  std::string uid;
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The user, or nullopt when the request carries no credentials at all. Throws
  // std::invalid_argument with the reason when it carries credentials that do not verify.
  virtual std::optional<UserInfo> authenticate(const http::Request& request) = 0;
};

// What is asked, in upstream's attribute terms.
struct Attributes {
  std::string verb;  // get, list, watch, create, update, patch, delete, deletecollection
  std::string group;
  std::string version;
  std::string resource;
  std::string subresource;
  std::string namespace_;
  std::string name;
  bool isResourceRequest = true;
  std::string path;  // for non-resource requests
};

struct Decision {
  bool allowed = false;
  std::string reason;
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  virtual Decision authorize(const UserInfo& user, const Attributes& attributes) = 0;
};

}  // namespace kite::controlplane
