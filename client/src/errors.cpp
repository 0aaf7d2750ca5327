#include "kite/client/errors.h"

#include "kite/api/json.h"

namespace kite::client {

namespace {

std::string describe(const std::string& method, const std::string& path,
                     const api::meta::v1::Status& s) {
  std::string msg = method;
  msg.append(" ").append(path).append(": ").append(std::to_string(s.code));
  if (!s.reason.empty()) msg.append(" ").append(s.reason);
  if (!s.message.empty()) msg.append(": ").append(s.message);
  return msg;
}

}  // namespace

ApiError::ApiError(std::string method, std::string path, api::meta::v1::Status status)
    : std::runtime_error(describe(method, path, status)),
      method_(std::move(method)),
      path_(std::move(path)),
      status_(std::move(status)) {}

bool ApiError::isNotFound() const {
  return status_.reason == "NotFound" || (status_.reason.empty() && code() == 404);
}
bool ApiError::isAlreadyExists() const { return status_.reason == "AlreadyExists"; }
bool ApiError::isConflict() const {
  return status_.reason == "Conflict" || (status_.reason.empty() && code() == 409);
}
bool ApiError::isGone() const {
  return status_.reason == "Expired" || status_.reason == "Gone" || code() == 410;
}
bool ApiError::isInvalid() const { return status_.reason == "Invalid" || code() == 422; }
bool ApiError::isBadRequest() const {
  return status_.reason == "BadRequest" || (status_.reason.empty() && code() == 400);
}
bool ApiError::isUnauthorized() const { return status_.reason == "Unauthorized" || code() == 401; }
bool ApiError::isForbidden() const { return status_.reason == "Forbidden" || code() == 403; }
bool ApiError::isTimeout() const {
  return status_.reason == "Timeout" || status_.reason == "ServerTimeout" || code() == 504;
}
bool ApiError::isTooManyRequests() const {
  return status_.reason == "TooManyRequests" || code() == 429;
}
bool ApiError::isMethodNotSupported() const {
  return status_.reason == "MethodNotAllowed" || code() == 405;
}

api::meta::v1::Status statusFromHttp(int code, const std::string& body) {
  // The server's own Status when the body is one.
  try {
    auto status = api::decodeJson<api::meta::v1::Status>(body);
    if (status.kind == "Status") {
      if (status.code == 0) status.code = code;
      return status;
    }
  } catch (const std::exception&) {
    // not JSON, or not a Status: made up below
  }
  api::meta::v1::Status s;
  s.apiVersion = "v1";
  s.kind = "Status";
  s.status = "Failure";
  s.code = code;
  switch (code) {
    case 400:
      s.reason = "BadRequest";
      break;
    case 401:
      s.reason = "Unauthorized";
      break;
    case 403:
      s.reason = "Forbidden";
      break;
    case 404:
      s.reason = "NotFound";
      break;
    case 405:
      s.reason = "MethodNotAllowed";
      break;
    case 406:
      s.reason = "NotAcceptable";
      break;
    case 409:
      s.reason = "Conflict";
      break;
    case 410:
      s.reason = "Gone";
      break;
    case 415:
      s.reason = "UnsupportedMediaType";
      break;
    case 422:
      s.reason = "Invalid";
      break;
    case 429:
      s.reason = "TooManyRequests";
      break;
    case 500:
      s.reason = "InternalError";
      break;
    case 503:
      s.reason = "ServiceUnavailable";
      break;
    case 504:
      s.reason = "Timeout";
      break;
    default:
      s.reason = "Unknown";
      break;
  }
  std::string message = body;
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
  s.message = message.empty() ? "the server answered " + std::to_string(code) : message;
  return s;
}

}  // namespace kite::client
