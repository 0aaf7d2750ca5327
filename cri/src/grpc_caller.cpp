#include "grpc_caller.h"

namespace kite::cri::detail {

Error toError(const std::string& method, const std::string& endpoint, const grpc::Status& status,
              std::chrono::milliseconds timeout) {
  const auto code = static_cast<ErrorCode>(status.error_code());
  std::string message = status.error_message();
  if (code == ErrorCode::kDeadlineExceeded) {
    message = "no answer within the deadline of " + std::to_string(timeout.count()) + "ms" +
              (message.empty() ? "" : " (" + message + ")");
  } else if (code == ErrorCode::kUnavailable) {
    message = "runtime not reachable: " + message;
  }
  return Error(method, endpoint, code, message);
}

}  // namespace kite::cri::detail
