#pragma once
// Errors of the API client. ApiError carries the Status the server answered with (or one made
// up from the HTTP status when the body was not a Status); TransportError is a failure below
// HTTP: no connection, TLS refused, timeout, a broken stream.

#include <stdexcept>
#include <string>

#include "kite/api/meta/v1/types.h"

namespace kite::client {

class ApiError : public std::runtime_error {
 public:
  // what() reads "<method> <path>: <code> <reason>: <message>".
  ApiError(std::string method, std::string path, api::meta::v1::Status status);

  const api::meta::v1::Status& status() const { return status_; }
  int code() const { return status_.code; }
  const std::string& reason() const { return status_.reason; }
  const std::string& message() const { return status_.message; }
  const std::string& method() const { return method_; }
  const std::string& path() const { return path_; }

  bool isNotFound() const;
  bool isAlreadyExists() const;
  // 409 Conflict: a stale resourceVersion or a failed precondition.
  bool isConflict() const;
  // 410: the resourceVersion (watch) or continue token (list) is too old.
  bool isGone() const;
  bool isInvalid() const;
  bool isBadRequest() const;
  bool isUnauthorized() const;
  bool isForbidden() const;
  bool isTimeout() const;
  bool isTooManyRequests() const;
  bool isMethodNotSupported() const;

 private:
  std::string method_;
  std::string path_;
  api::meta::v1::Status status_;
};

class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A kubeconfig or in-cluster configuration that cannot be used; the message names the file and
// the field.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The Status made up for an HTTP error whose body is not a Status (upstream's
// NewGenericServerResponse): reason from the code, message from the body.
api::meta::v1::Status statusFromHttp(int code, const std::string& body);

}  // namespace kite::client
