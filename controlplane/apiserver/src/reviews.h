#pragma once
// The create-only review kinds: the body is a question, the answer is the same object with
// its status filled in (upstream answers 201 Created) and nothing is stored.
//   authorization.k8s.io/v1  SubjectAccessReview, LocalSubjectAccessReview,
//                            SelfSubjectAccessReview (`kubectl auth can-i`),
//                            SelfSubjectRulesReview (`kubectl auth can-i --list`)
//   authentication.k8s.io/v1 TokenReview, SelfSubjectReview (`kubectl auth whoami`)

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "kite/api/rbac/v1/types.h"
#include "kite/controlplane/auth.h"

namespace kite::controlplane::apiserver {

using kite::controlplane::RulesResolver;
using kite::controlplane::UserRules;

struct ReviewContext {
  Authorizer* authorizer = nullptr;        // access reviews; null: everything allowed
  Authenticator* authenticator = nullptr;  // TokenReview; null: no token authenticates
  RulesResolver rules;                     // SelfSubjectRulesReview; unset: incomplete
  std::string namespace_;                  // the URL's namespace (LocalSubjectAccessReview)
};

// Whether kind (e.g. "SelfSubjectAccessReview") is one reviewJson answers.
bool isReviewKind(std::string_view kind);

// Answers a review created by `requester`. Returns the response JSON. Throws ApiError: 400
// for a body that does not parse or names the wrong kind (and for a TokenReview without a
// token), 422 Invalid for a spec upstream's validation refuses (e.g. `spec.resourceAttributes:
// Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be
// specified`).
std::string reviewJson(std::string_view kind, std::string_view body, const UserInfo& requester,
                       const ReviewContext& context);

}  // namespace kite::controlplane::apiserver
