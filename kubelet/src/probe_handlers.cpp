#include "kite/kubelet/probe_handlers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <httplib.h>

#include "grpc/health/v1/health.grpc.pb.h"

namespace kite::kubelet {

namespace {

std::string hostPort(const std::string& host, int port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string errnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

}  // namespace

ProbeOutcome probeExec(cri::Runtime& runtime, const std::string& containerId,
                       const std::vector<std::string>& command, Timeout timeout) {
  try {
    const auto seconds = std::chrono::ceil<std::chrono::seconds>(timeout);
    const auto result = runtime.execSync(containerId, command, seconds);
    std::string output = result.stdoutData + result.stderrData;
    if (result.exitCode == 0) return {ProbeResult::kSuccess, output};
    return {
        ProbeResult::kFailure,
        output.empty() ? "command exited with code " + std::to_string(result.exitCode) : output};
  } catch (const cri::Error& e) {
    if (e.code() == cri::ErrorCode::kDeadlineExceeded) {
      return {ProbeResult::kFailure,
              "command timed out after " + std::to_string(timeout.count() / 1000) + "s"};
    }
    return {ProbeResult::kUnknown, e.runtimeMessage()};
  }
}

ProbeOutcome probeTcp(const std::string& host, int port, Timeout timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    return {ProbeResult::kFailure, "dial tcp " + hostPort(host, port) + ": no such host"};
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(found, &::freeaddrinfo);
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return {ProbeResult::kUnknown, errnoText(errno)};
  int error = 0;
  if (::connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
    error = errno;
    if (error == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      const int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
      socklen_t length = sizeof error;
      if (ready == 1) {
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      } else {
        error = ETIMEDOUT;
      }
    }
  }
  ::close(fd);
  if (error == 0) return {ProbeResult::kSuccess, ""};
  return {ProbeResult::kFailure,
          "dial tcp " + hostPort(host, port) + ": connect: " + errnoText(error)};
}

ProbeOutcome probeHttp(const std::string& scheme, const std::string& host, int port,
                       const std::string& path,
                       const std::multimap<std::string, std::string>& headers, Timeout timeout) {
  const bool https = scheme == "HTTPS";
  const std::string base = (https ? "https://" : "http://") + hostPort(host, port);
  httplib::Client client(base);
  if (https) client.enable_server_certificate_verification(false);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(timeout - seconds);
  client.set_connection_timeout(seconds.count(), micros.count());
  client.set_read_timeout(seconds.count(), micros.count());
  client.set_follow_location(true);
  httplib::Headers requestHeaders{{"User-Agent", "kube-probe/1.32"}, {"Accept", "*/*"}};
  for (const auto& [name, value] : headers) {
    requestHeaders.erase(name);
    requestHeaders.emplace(name, value);
  }
  const auto response = client.Get(path.empty() ? "/" : path, requestHeaders);
  if (!response) {
    return {ProbeResult::kFailure,
            "Get \"" + base + path + "\": " + httplib::to_string(response.error())};
  }
  constexpr std::size_t kMaxBody = std::size_t{10} * 1024;  // upstream keeps the first 10 KiB
  std::string body = response->body.substr(0, kMaxBody);
  if (response->status >= 200 && response->status < 400) return {ProbeResult::kSuccess, body};
  return {ProbeResult::kFailure,
          "HTTP probe failed with statuscode: " + std::to_string(response->status)};
}

ProbeOutcome probeGrpc(const std::string& host, int port, const std::string& service,
                       Timeout timeout) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  auto channel =
      grpc::CreateCustomChannel(hostPort(host, port), grpc::InsecureChannelCredentials(), args);
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  context.AddMetadata("user-agent", "kube-probe/1.32");
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const auto status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      return {ProbeResult::kFailure, "timeout: health rpc did not complete within " +
                                         std::to_string(timeout.count()) + "ms"};
    }
    return {ProbeResult::kFailure,
            "error: this server does not implement the grpc health protocol "
            "(grpc.health.v1.Health): " +
                status.error_message()};
  }
  if (response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
    return {ProbeResult::kSuccess, ""};
  }
  return {ProbeResult::kFailure,
          "service unhealthy (responded with \"" +
              grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()) + "\")"};
}

}  // namespace kite::kubelet
