#include "reviews.h"

#include <algorithm>

#include "api_error.h"
#include "kite/api/authentication/v1/types.h"
#include "kite/api/authorization/v1/types.h"
#include "kite/api/field_errors.h"
#include "kite/api/json.h"

namespace kite::controlplane::apiserver {

namespace {

namespace authzv1 = api::authorization::v1;
namespace authnv1 = api::authentication::v1;
using api::FieldError;

constexpr std::string_view kAuthorizationGroup = "authorization.k8s.io";

template <class T>
T decodeReview(std::string_view body) {
  T review;
  try {
    review = api::decodeJson<T>(body);
  } catch (const api::ParseError& e) {
    throw ApiError::badRequest(e.what());
  } catch (const api::FieldErrors& e) {
    throw ApiError::badRequest(e.what());
  }
  if (!review.kind.empty() && review.kind != T::kKind) {
    std::string msg = "the body is a ";
    msg.append(review.kind).append(", not a ").append(T::kKind);
    throw ApiError::badRequest(std::move(msg));
  }
  if (!review.apiVersion.empty() && review.apiVersion != T::kApiVersion) {
    std::string msg = "the body's apiVersion is ";
    msg.append(review.apiVersion).append(", not ").append(T::kApiVersion);
    throw ApiError::badRequest(std::move(msg));
  }
  review.apiVersion = std::string(T::kApiVersion);
  review.kind = std::string(T::kKind);
  review.status = {};
  return review;
}

[[noreturn]] void invalid(std::string_view group, std::string_view kind, std::string_view name,
                          std::vector<FieldError> errors) {
  const api::FieldErrors fe(std::move(errors));
  throw ApiError::invalid(group, kind, name, fe.toStatus(kind, name, group));
}

// Upstream's ValidateSelfSubjectAccessReviewSpec (also the start of the other two).
template <class Spec>
void checkAttributesChoice(std::vector<FieldError>& errors, const Spec& spec) {
  if (spec.resourceAttributes && spec.nonResourceAttributes) {
    errors.push_back(FieldError::invalid("spec.nonResourceAttributes", "",
                                         "cannot be specified in combination with "
                                         "resourceAttributes"));
  }
  if (!spec.resourceAttributes && !spec.nonResourceAttributes) {
    errors.push_back(FieldError::invalid(
        "spec.resourceAttributes", "null",
        "exactly one of nonResourceAttributes or resourceAttributes must be specified"));
  }
}

template <class Spec>
Attributes attributesOf(const Spec& spec) {
  Attributes a;
  if (spec.resourceAttributes) {
    const auto& r = *spec.resourceAttributes;
    a.isResourceRequest = true;
    a.verb = r.verb;
    a.group = r.group;
    a.version = r.version;
    a.resource = r.resource;
    a.subresource = r.subresource;
    a.namespace_ = r.namespace_;
    a.name = r.name;
  } else if (spec.nonResourceAttributes) {
    a.isResourceRequest = false;
    a.verb = spec.nonResourceAttributes->verb;
    a.path = spec.nonResourceAttributes->path;
  }
  return a;
}

authzv1::SubjectAccessReviewStatus decide(const ReviewContext& context, const UserInfo& user,
                                          const Attributes& attributes) {
  authzv1::SubjectAccessReviewStatus status;
  if (context.authorizer == nullptr) {
    status.allowed = true;
    return status;
  }
  const Decision d = context.authorizer->authorize(user, attributes);
  status.allowed = d.allowed;
  status.reason = d.reason;
  return status;
}

template <class Review>
UserInfo subjectOf(const Review& review) {
  UserInfo user;
  user.name = review.spec.user;
  user.groups = review.spec.groups;
  user.uid = review.spec.uid;
  return user;
}

template <class Review>
void checkSubjectAccessReview(const Review& review, std::string_view kind) {
  std::vector<FieldError> errors;
  checkAttributesChoice(errors, review.spec);
  if (review.spec.user.empty() && review.spec.groups.empty()) {
    errors.push_back(
        FieldError::invalid("spec.user", "", "at least one of user or group must be specified"));
  }
  if (kind == "LocalSubjectAccessReview" && review.spec.nonResourceAttributes) {
    errors.push_back(FieldError::invalid("spec.nonResourceAttributes", "",
                                         "disallowed on this kind of request"));
  }
  if (!errors.empty()) invalid(kAuthorizationGroup, kind, review.metadata.name, std::move(errors));
}

std::string subjectAccessReview(std::string_view body, const ReviewContext& context) {
  auto review = decodeReview<authzv1::SubjectAccessReview>(body);
  checkSubjectAccessReview(review, "SubjectAccessReview");
  review.status = decide(context, subjectOf(review), attributesOf(review.spec));
  return api::encodeJson(review);
}

std::string localSubjectAccessReview(std::string_view body, const ReviewContext& context) {
  auto review = decodeReview<authzv1::LocalSubjectAccessReview>(body);
  if (review.metadata.namespace_.empty()) review.metadata.namespace_ = context.namespace_;
  checkSubjectAccessReview(review, "LocalSubjectAccessReview");
  if (review.spec.resourceAttributes &&
      review.spec.resourceAttributes->namespace_ != context.namespace_) {
    throw ApiError::badRequest("spec.resourceAttributes.namespace must match namespace: " +
                               context.namespace_);
  }
  review.status = decide(context, subjectOf(review), attributesOf(review.spec));
  return api::encodeJson(review);
}

std::string selfSubjectAccessReview(std::string_view body, const UserInfo& requester,
                                    const ReviewContext& context) {
  auto review = decodeReview<authzv1::SelfSubjectAccessReview>(body);
  std::vector<FieldError> errors;
  checkAttributesChoice(errors, review.spec);
  if (!errors.empty()) {
    invalid(kAuthorizationGroup, "SelfSubjectAccessReview", review.metadata.name,
            std::move(errors));
  }
  review.status = decide(context, requester, attributesOf(review.spec));
  return api::encodeJson(review);
}

std::string selfSubjectRulesReview(std::string_view body, const UserInfo& requester,
                                   const ReviewContext& context) {
  auto review = decodeReview<authzv1::SelfSubjectRulesReview>(body);
  if (review.spec.namespace_.empty()) {
    invalid(kAuthorizationGroup, "SelfSubjectRulesReview", review.metadata.name,
            {FieldError::required("spec.namespace", "")});
  }
  auto& status = review.status;
  if (!context.rules) {
    status.incomplete = true;
    return api::encodeJson(review);
  }
  const UserRules rules = context.rules(requester, review.spec.namespace_);
  for (const auto& r : rules.rules) {
    if (!r.nonResourceURLs.empty()) {
      authzv1::NonResourceRule n;
      n.verbs = r.verbs;
      n.nonResourceURLs = r.nonResourceURLs;
      status.nonResourceRules.push_back(std::move(n));
    } else {
      authzv1::ResourceRule rr;
      rr.verbs = r.verbs;
      rr.apiGroups = r.apiGroups;
      rr.resources = r.resources;
      rr.resourceNames = r.resourceNames;
      status.resourceRules.push_back(std::move(rr));
    }
  }
  if (!rules.errors.empty()) {
    status.incomplete = true;
    for (const auto& e : rules.errors) {
      if (!status.evaluationError.empty()) status.evaluationError.append(", ");
      status.evaluationError.append(e);
    }
  }
  return api::encodeJson(review);
}

authnv1::UserInfo userInfoOf(const UserInfo& user) {
  authnv1::UserInfo out;
  out.username = user.name;
  out.uid = user.uid;
  out.groups = user.groups;
  return out;
}

std::string tokenReview(std::string_view body, const ReviewContext& context) {
  auto review = decodeReview<authnv1::TokenReview>(body);
  if (review.spec.token.empty()) {
    throw ApiError::badRequest("token is required for TokenReview in authentication");
  }
  if (context.authenticator == nullptr) {
    review.status.error = "token authentication is not configured";
    return api::encodeJson(review);
  }
  http::Request request;
  request.method = "GET";
  request.headers.emplace_back("authorization", "Bearer " + review.spec.token);
  try {
    if (auto user = context.authenticator->authenticate(request)) {
      // As for requests, every authenticated user is in system:authenticated.
      if (std::find(user->groups.begin(), user->groups.end(), "system:authenticated") ==
          user->groups.end()) {
        user->groups.emplace_back("system:authenticated");
      }
      review.status.authenticated = true;
      review.status.user = userInfoOf(*user);
      review.status.audiences = review.spec.audiences;
    }
  } catch (const std::invalid_argument& e) {
    review.status.error = e.what();
  }
  return api::encodeJson(review);
}

std::string selfSubjectReview(std::string_view body, const UserInfo& requester) {
  auto review = decodeReview<authnv1::SelfSubjectReview>(body);
  review.status.userInfo = userInfoOf(requester);
  return api::encodeJson(review);
}

}  // namespace

bool isReviewKind(std::string_view kind) {
  return kind == "SubjectAccessReview" || kind == "LocalSubjectAccessReview" ||
         kind == "SelfSubjectAccessReview" || kind == "SelfSubjectRulesReview" ||
         kind == "TokenReview" || kind == "SelfSubjectReview";
}

std::string reviewJson(std::string_view kind, std::string_view body, const UserInfo& requester,
                       const ReviewContext& context) {
  if (kind == "SubjectAccessReview") return subjectAccessReview(body, context);
  if (kind == "LocalSubjectAccessReview") return localSubjectAccessReview(body, context);
  if (kind == "SelfSubjectAccessReview") return selfSubjectAccessReview(body, requester, context);
  if (kind == "SelfSubjectRulesReview") return selfSubjectRulesReview(body, requester, context);
  if (kind == "TokenReview") return tokenReview(body, context);
  if (kind == "SelfSubjectReview") return selfSubjectReview(body, requester);
  std::string msg = "no review kind ";
  msg.append(kind);
  throw ApiError::badRequest(std::move(msg));
}

}  // namespace kite::controlplane::apiserver
