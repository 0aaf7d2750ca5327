#pragma once
// Failures of an API request, carried as the Kubernetes Status the client will read:
// the HTTP code, the reason (NotFound, AlreadyExists, Conflict, Invalid, ...) and details.
// Handlers throw ApiError; the dispatcher turns it into the response.

#include <stdexcept>
#include <string>
#include <string_view>

#include "kite/api/meta/v1/types.h"

namespace kite::controlplane::apiserver {

class ApiError : public std::runtime_error {
 public:
  explicit ApiError(api::meta::v1::Status status);

  const api::meta::v1::Status& status() const { return status_; }
  int code() const { return status_.code; }

  // A Failure Status with this code, reason and message (no details).
  static ApiError failure(int code, std::string reason, std::string message);

  // The upstream constructors, with upstream's message texts.
  // `pods "web" not found`
  static ApiError notFound(std::string_view group, std::string_view resource,
                           std::string_view name);
  // `pods "web" already exists`
  static ApiError alreadyExists(std::string_view group, std::string_view resource,
                                std::string_view name);
  // `Operation cannot be fulfilled on pods "web": <detail>`
  static ApiError conflict(std::string_view group, std::string_view resource, std::string_view name,
                           std::string_view detail);
  static ApiError badRequest(std::string message);
  static ApiError methodNotSupported(std::string_view group, std::string_view resource,
                                     std::string_view verb);
  static ApiError notAcceptable(std::string message);
  static ApiError unsupportedMediaType(std::string_view contentType);
  static ApiError requestEntityTooLarge(std::string message);
  // 410: `too old resource version: 5 (12)`
  static ApiError gone(std::string message);
  static ApiError unauthorized(std::string message);
  static ApiError forbidden(std::string_view user, std::string_view verb, std::string_view group,
                            std::string_view resource, std::string_view ns, std::string_view name,
                            std::string_view reason = {});
  // Upstream's NewForbidden, for refusals that are not about the user's rights:
  // `priorityclasses.scheduling.k8s.io "x" is forbidden: <reason>` (no name: no quotes).
  static ApiError forbiddenObject(std::string_view group, std::string_view resource,
                                  std::string_view name, std::string_view reason);
  static ApiError invalid(std::string_view group, std::string_view kind, std::string_view name,
                          api::meta::v1::Status fromFieldErrors);
  static ApiError internal(const std::string& message);
  static ApiError timeout(std::string message);
  static ApiError serviceUnavailable(std::string message);

 private:
  api::meta::v1::Status status_;
};

// A Failure Status (apiVersion v1, kind Status) with this code, reason and message.
api::meta::v1::Status failureStatus(int code, std::string reason, std::string message);

// "pods" or "deployments.apps": how upstream names a resource in messages.
std::string qualifiedResource(std::string_view group, std::string_view resource);

}  // namespace kite::controlplane::apiserver
