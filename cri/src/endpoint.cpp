#include "kite/cri/endpoint.h"

#include <sys/stat.h>

#include <cerrno>
#include <system_error>

#include "kite/cri/error.h"

namespace kite::cri {

namespace {
constexpr std::string_view kUnixScheme = "unix://";

[[noreturn]] void fail(const std::string& endpoint, const std::string& why) {
  throw Error("connect", endpoint, ErrorCode::kInvalidArgument, why);
}
}  // namespace

Endpoint parseEndpoint(const std::string& text) {
  if (text.empty()) {
    fail("\"\"", "no container runtime endpoint given (--container-runtime-endpoint)");
  }
  std::string path;
  if (text.starts_with(kUnixScheme)) {
    path = text.substr(kUnixScheme.size());
  } else if (text.starts_with("/")) {
    path = text;  // a bare path, accepted as upstream kubelet once did
  } else {
    const auto scheme = text.find("://");
    fail(text, scheme == std::string::npos ? "expected unix:///path/to/socket"
                                           : "unsupported scheme \"" + text.substr(0, scheme) +
                                                 "\": only unix sockets are supported");
  }
  if (!path.starts_with("/")) {
    fail(text, "socket path must be absolute (unix:///path/to/socket)");
  }
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    fail(text, "cannot use socket " + path + ": " +
                   std::error_code(errno, std::generic_category()).message());
  }
  if (!S_ISSOCK(info.st_mode)) {
    fail(text, path + " is not a unix socket");
  }
  return Endpoint{path, "unix://" + path};
}

}  // namespace kite::cri
