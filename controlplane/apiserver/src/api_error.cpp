#include "api_error.h"

#include <utility>

namespace kite::controlplane::apiserver {

using api::meta::v1::Status;

namespace {
using api::meta::v1::StatusDetails;

}  // namespace

Status failureStatus(int code, std::string reason, std::string message) {
  Status s;
  s.apiVersion = "v1";
  s.kind = "Status";
  s.status = "Failure";
  s.code = code;
  s.reason = std::move(reason);
  s.message = std::move(message);
  return s;
}

namespace {

Status withDetails(Status s, std::string_view group, std::string_view kindOrResource,
                   std::string_view name) {
  StatusDetails d;
  d.group = std::string(group);
  d.kind = std::string(kindOrResource);
  d.name = std::string(name);
  s.details = std::move(d);
  return s;
}

std::string quoted(std::string_view name) {
  std::string out = "\"";
  out.append(name);
  out.append("\"");
  return out;
}

}  // namespace

ApiError ApiError::failure(int code, std::string reason, std::string message) {
  return ApiError(failureStatus(code, std::move(reason), std::move(message)));
}

ApiError::ApiError(Status status)
    : std::runtime_error(status.message), status_(std::move(status)) {}

std::string qualifiedResource(std::string_view group, std::string_view resource) {
  std::string out(resource);
  if (!group.empty()) {
    out.append(".");
    out.append(group);
  }
  return out;
}

ApiError ApiError::notFound(std::string_view group, std::string_view resource,
                            std::string_view name) {
  std::string msg = qualifiedResource(group, resource);
  msg.append(" ").append(quoted(name)).append(" not found");
  return ApiError(
      withDetails(failureStatus(404, "NotFound", std::move(msg)), group, resource, name));
}

ApiError ApiError::alreadyExists(std::string_view group, std::string_view resource,
                                 std::string_view name) {
  std::string msg = qualifiedResource(group, resource);
  msg.append(" ").append(quoted(name)).append(" already exists");
  return ApiError(
      withDetails(failureStatus(409, "AlreadyExists", std::move(msg)), group, resource, name));
}

ApiError ApiError::conflict(std::string_view group, std::string_view resource,
                            std::string_view name, std::string_view detail) {
  std::string msg = "Operation cannot be fulfilled on ";
  msg.append(qualifiedResource(group, resource)).append(" ").append(quoted(name));
  msg.append(": ").append(detail);
  return ApiError(
      withDetails(failureStatus(409, "Conflict", std::move(msg)), group, resource, name));
}

ApiError ApiError::badRequest(std::string message) {
  return ApiError(failureStatus(400, "BadRequest", std::move(message)));
}

ApiError ApiError::methodNotSupported(std::string_view group, std::string_view resource,
                                      std::string_view verb) {
  std::string msg = "the server does not allow this method on the requested resource";
  Status s = failureStatus(405, "MethodNotAllowed", std::move(msg));
  s = withDetails(std::move(s), group, resource, {});
  (void)verb;
  return ApiError(std::move(s));
}

ApiError ApiError::notAcceptable(std::string message) {
  return ApiError(failureStatus(406, "NotAcceptable", std::move(message)));
}

ApiError ApiError::unsupportedMediaType(std::string_view contentType) {
  std::string msg =
      "the body of the request was in an unknown format - accepted media types "
      "include: application/json, application/yaml";
  if (!contentType.empty()) {
    msg.append(" (got ").append(contentType).append(")");
  }
  return ApiError(failureStatus(415, "UnsupportedMediaType", std::move(msg)));
}

ApiError ApiError::requestEntityTooLarge(std::string message) {
  return ApiError(failureStatus(413, "RequestEntityTooLarge", std::move(message)));
}

ApiError ApiError::gone(std::string message) {
  return ApiError(failureStatus(410, "Expired", std::move(message)));
}

ApiError ApiError::unauthorized(std::string message) {
  return ApiError(failureStatus(401, "Unauthorized", std::move(message)));
}

ApiError ApiError::forbidden(std::string_view user, std::string_view verb, std::string_view group,
                             std::string_view resource, std::string_view ns, std::string_view name,
                             std::string_view reason) {
  // `pods "x" is forbidden: User "bob" cannot get resource "pods" in API group "" in the
  // namespace "default"`
  std::string msg = qualifiedResource(group, resource);
  if (!name.empty()) msg.append(" ").append(quoted(name));
  msg.append(" is forbidden: User ").append(quoted(user)).append(" cannot ").append(verb);
  msg.append(" resource ").append(quoted(resource)).append(" in API group ").append(quoted(group));
  if (!ns.empty()) {
    msg.append(" in the namespace ").append(quoted(ns));
  } else {
    msg.append(" at the cluster scope");
  }
  if (!reason.empty()) msg.append(": ").append(reason);
  return ApiError(
      withDetails(failureStatus(403, "Forbidden", std::move(msg)), group, resource, name));
}

ApiError ApiError::forbiddenObject(std::string_view group, std::string_view resource,
                                   std::string_view name, std::string_view reason) {
  std::string msg = qualifiedResource(group, resource);
  if (!name.empty()) msg.append(" ").append(quoted(name));
  msg.append(" is forbidden: ").append(reason);
  return ApiError(
      withDetails(failureStatus(403, "Forbidden", std::move(msg)), group, resource, name));
}

ApiError ApiError::invalid(std::string_view group, std::string_view kind, std::string_view name,
                           Status fromFieldErrors) {
  fromFieldErrors.apiVersion = "v1";
  fromFieldErrors.kind = "Status";
  if (!fromFieldErrors.details) fromFieldErrors.details.emplace();
  fromFieldErrors.details->group = std::string(group);
  fromFieldErrors.details->kind = std::string(kind);
  fromFieldErrors.details->name = std::string(name);
  return ApiError(std::move(fromFieldErrors));
}

ApiError ApiError::internal(const std::string& message) {
  std::string msg = "Internal error occurred: ";
  msg.append(message);
  return ApiError(failureStatus(500, "InternalError", std::move(msg)));
}

ApiError ApiError::timeout(std::string message) {
  return ApiError(failureStatus(504, "Timeout", std::move(message)));
}

ApiError ApiError::serviceUnavailable(std::string message) {
  return ApiError(failureStatus(503, "ServiceUnavailable", std::move(message)));
}

}  // namespace kite::controlplane::apiserver
