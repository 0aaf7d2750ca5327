#include "kite/cri/error.h"

#include <array>

namespace kite::cri {

const char* errorCodeName(ErrorCode code) {
  static constexpr std::array<const char*, 17> kNames = {
      "OK",       "Cancelled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",   "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",      "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated",
  };
  const auto index = static_cast<std::size_t>(code);
  return index < kNames.size() ? kNames.at(index) : "Unknown";
}

namespace {
std::string describe(const std::string& method, const std::string& endpoint, ErrorCode code,
                     const std::string& message) {
  return "CRI " + method + " on " + endpoint + " failed (" + errorCodeName(code) + "): " + message;
}
}  // namespace

Error::Error(std::string method, std::string endpoint, ErrorCode code, std::string message)
    : std::runtime_error(describe(method, endpoint, code, message)),
      method_(std::move(method)),
      endpoint_(std::move(endpoint)),
      code_(code),
      message_(std::move(message)) {}

}  // namespace kite::cri
