#pragma once
// Factory for the real CRI client: gRPC (protobuf) over a unix socket.

#include <chrono>
#include <memory>
#include <string>

#include "kite/cri/images.h"
#include "kite/cri/runtime.h"

namespace kite::cri {

struct ClientOptions {
  std::string endpoint;  // e.g. unix:///run/containerd/containerd.sock
  // Deadline for every unary call (kubelet's --runtime-request-timeout, 2m upstream).
  std::chrono::milliseconds requestTimeout{std::chrono::minutes(2)};
  // Image pulls may take longer than ordinary calls.
  std::chrono::milliseconds pullTimeout{std::chrono::minutes(15)};
  // Upper bound on a message from the runtime (lists of many containers).
  int maxMessageBytes = 16 * 1024 * 1024;
};

struct Client {
  std::shared_ptr<Runtime> runtime;
  std::shared_ptr<Images> images;
};

// Checks the endpoint (see parseEndpoint) and sets up one shared channel for
// both services. Connection happens lazily; a runtime that does not answer
// shows up as an Error on the first call, within its deadline.
Client connect(const ClientOptions& options);

}  // namespace kite::cri
