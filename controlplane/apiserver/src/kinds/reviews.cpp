// The review kinds (authorization.k8s.io, authentication.k8s.io): served for create only,
// answered by reviews.cpp, never stored.
#include "../registry.h"
#include "kite/api/authentication/v1/types.h"
#include "kite/api/authorization/v1/types.h"

namespace kite::controlplane::apiserver {

namespace {
template <class T>
void addReview(Registry& r, const char* group, const char* resource) {
  r.add(std::make_unique<TypedResource<T>>(builtinInfo(group, "v1", resource), KindHooks<T>{}));
}
}  // namespace

void addReviewKinds(Registry& r) {
  namespace authz = api::authorization::v1;
  namespace authn = api::authentication::v1;
  addReview<authz::SelfSubjectAccessReview>(r, "authorization.k8s.io", "selfsubjectaccessreviews");
  addReview<authz::SubjectAccessReview>(r, "authorization.k8s.io", "subjectaccessreviews");
  addReview<authz::LocalSubjectAccessReview>(r, "authorization.k8s.io",
                                             "localsubjectaccessreviews");
  addReview<authz::SelfSubjectRulesReview>(r, "authorization.k8s.io", "selfsubjectrulesreviews");
  addReview<authn::TokenReview>(r, "authentication.k8s.io", "tokenreviews");
  addReview<authn::SelfSubjectReview>(r, "authentication.k8s.io", "selfsubjectreviews");
}

}  // namespace kite::controlplane::apiserver
