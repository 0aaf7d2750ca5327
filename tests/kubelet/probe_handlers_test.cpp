// Probe handlers against real local servers on loopback (TCP, HTTP, gRPC) and
// the fake runtime (exec).

#include "kite/kubelet/probe_handlers.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "fakes/fake_runtime.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace kite::kubelet {
namespace {

using namespace std::chrono_literals;

// A loopback TCP listener on an ephemeral port (closed port: bind, then close).
int listenOnLoopback(int* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t length = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  *port = ntohs(addr.sin_port);
  ::listen(fd, 16);
  return fd;
}

TEST(ProbeTcp, OpenPortSucceedsClosedPortFails) {
  int port = 0;
  const int fd = listenOnLoopback(&port);
  EXPECT_EQ(probeTcp("127.0.0.1", port, 1s).result, ProbeResult::kSuccess);
  ::close(fd);
  const auto closed = probeTcp("127.0.0.1", port, 1s);
  EXPECT_EQ(closed.result, ProbeResult::kFailure);
  EXPECT_EQ(closed.output,
            "dial tcp 127.0.0.1:" + std::to_string(port) + ": connect: Connection refused");
}

class HttpProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/ok", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("fine " + req.get_header_value("X-Probe"), "text/plain");
    });
    server_.Get("/fail", [](const httplib::Request&, httplib::Response& res) { res.status = 500; });
    server_.Get("/moved",
                [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/ok"); });
    server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(1500ms);
      res.set_content("late", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(HttpProbeTest, StatusDecidesAndHeadersAreSent) {
  const auto ok = probeHttp("HTTP", "127.0.0.1", port_, "/ok", {{"X-Probe", "yes"}}, 1s);
  EXPECT_EQ(ok.result, ProbeResult::kSuccess);
  EXPECT_EQ(ok.output, "fine yes");
  const auto fail = probeHttp("HTTP", "127.0.0.1", port_, "/fail", {}, 1s);
  EXPECT_EQ(fail.result, ProbeResult::kFailure);
  EXPECT_EQ(fail.output, "HTTP probe failed with statuscode: 500");
  EXPECT_EQ(probeHttp("HTTP", "127.0.0.1", port_, "/moved", {}, 1s).result, ProbeResult::kSuccess);
}

TEST_F(HttpProbeTest, TimeoutIsAFailure) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(probeHttp("HTTP", "127.0.0.1", port_, "/slow", {}, 300ms).result,
            ProbeResult::kFailure);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1400ms);
}

class HealthService final : public grpc::health::v1::Health::Service {
  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override {
    response->set_status(request->service() == "sick"
                             ? grpc::health::v1::HealthCheckResponse::NOT_SERVING
                             : grpc::health::v1::HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }
};

TEST(ProbeGrpc, ServingNotServingAndNoServer) {
  HealthService service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  EXPECT_EQ(probeGrpc("127.0.0.1", port, "", 2s).result, ProbeResult::kSuccess);
  const auto sick = probeGrpc("127.0.0.1", port, "sick", 2s);
  EXPECT_EQ(sick.result, ProbeResult::kFailure);
  EXPECT_NE(sick.output.find("NOT_SERVING"), std::string::npos) << sick.output;
  server->Shutdown();
  EXPECT_EQ(probeGrpc("127.0.0.1", port, "", 500ms).result, ProbeResult::kFailure);
}

TEST(ProbeExec, ExitCodeDecides) {
  testing::FakeRuntime runtime;
  runtime.addLocalImage("busybox:1.35");
  cri::v1::PodSandboxConfig sandbox;
  sandbox.mutable_metadata()->set_name("p");
  const auto pod = runtime.runPodSandbox(sandbox, "");
  cri::v1::ContainerConfig config;
  config.mutable_metadata()->set_name("c");
  config.mutable_image()->set_image("busybox:1.35");
  const auto id = runtime.createContainer(pod, config, sandbox);
  runtime.startContainer(id);
  runtime.setExecResult("cat /tmp/healthy", {"ok\n", "", 0});
  runtime.setExecResult("false", {"", "boom\n", 1});
  EXPECT_EQ(probeExec(runtime, id, {"cat", "/tmp/healthy"}, 1s).result, ProbeResult::kSuccess);
  const auto failed = probeExec(runtime, id, {"false"}, 1s);
  EXPECT_EQ(failed.result, ProbeResult::kFailure);
  EXPECT_EQ(failed.output, "boom\n");
}

}  // namespace
}  // namespace kite::kubelet
