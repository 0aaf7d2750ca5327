#pragma once
// One place that turns a gRPC unary call into "response or cri::Error", so the
// deadline and the error wording are the same for every CRI method.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>

#include "kite/cri/error.h"

namespace kite::cri::detail {

Error toError(const std::string& method, const std::string& endpoint, const grpc::Status& status,
              std::chrono::milliseconds timeout);

class Caller {
 public:
  explicit Caller(std::string endpoint) : endpoint_(std::move(endpoint)) {}

  const std::string& endpoint() const { return endpoint_; }

  template <class Stub, class Request, class Response>
  Response unary(const char* method, Stub& stub,
                 grpc::Status (Stub::*call)(grpc::ClientContext*, const Request&, Response*),
                 const Request& request, std::chrono::milliseconds timeout) const {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout);
    Response response;
    const grpc::Status status = (stub.*call)(&context, request, &response);
    if (!status.ok()) {
      throw toError(method, endpoint_, status, timeout);
    }
    return response;
  }

 private:
  std::string endpoint_;
};

}  // namespace kite::cri::detail
