#pragma once
// Errors from a container runtime, carrying what a log reader needs to act:
// which CRI method failed, on which endpoint, and the runtime's own message.

#include <stdexcept>
#include <string>

namespace kite::cri {

// Same numbering as gRPC status codes, so runtime errors map one to one, but
// kept free of gRPC headers so fakes and callers need not include them.
enum class ErrorCode {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

const char* errorCodeName(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(std::string method, std::string endpoint, ErrorCode code, std::string message);

  const std::string& method() const { return method_; }
  const std::string& endpoint() const { return endpoint_; }
  ErrorCode code() const { return code_; }
  // The runtime's message alone, without method and endpoint.
  const std::string& runtimeMessage() const { return message_; }

  bool isNotFound() const { return code_ == ErrorCode::kNotFound; }
  bool isUnimplemented() const { return code_ == ErrorCode::kUnimplemented; }

 private:
  std::string method_;
  std::string endpoint_;
  ErrorCode code_;
  std::string message_;
};

}  // namespace kite::cri
