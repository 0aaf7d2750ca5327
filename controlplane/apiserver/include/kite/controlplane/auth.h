#pragma once
// Who a request comes from and whether it may do what it asks: the authentication and
// authorization seams of the API server.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kite/api/rbac/v1/types.h"
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

// The rules a user holds in a namespace, for SelfSubjectRulesReview (RbacAuthorizer::rulesFor
// in kite/controlplane/rbac.h gives exactly this).
struct UserRules {
  std::vector<api::rbac::v1::PolicyRule> rules;
  std::vector<std::string> errors;  // what could not be evaluated: status.incomplete
};
using RulesResolver = std::function<UserRules(const UserInfo&, std::string_view ns)>;

// Admission that looks at the objects a request writes (NodeRestriction): "" to allow, or
// the reason it is forbidden. object/oldObject are JSON ("" when there is none).
using ObjectAdmission = std::function<std::string(
    const UserInfo&, const Attributes&, std::string_view object, std::string_view oldObject)>;

}  // namespace kite::controlplane
