#pragma once
// CRI endpoints as kubelet users write them: "unix:///run/containerd/containerd.sock"
// (or a bare absolute path). Only unix sockets are supported, as upstream on Linux.

#include <string>

namespace kite::cri {

struct Endpoint {
  std::string socketPath;  // absolute filesystem path of the socket
  std::string uri;         // normalized "unix:///..." form, used in messages and by gRPC
};

// Parses and checks the endpoint: the path must exist and be a socket.
// Throws cri::Error (method "connect") naming the endpoint and what is wrong.
Endpoint parseEndpoint(const std::string& text);

}  // namespace kite::cri
