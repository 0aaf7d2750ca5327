// A gRPC health server (grpc.health.v1.Health/Check) for the bed's grpc probe test, run inside
// a pod's container: the busybox images have no gRPC server, so the pod chroots into the host's
// read-only root (a hostPath volume) and starts this binary from the build tree there.
//
// Usage: grpc_health_server PORT [NOT_SERVING_SERVICE...]
//   Answers SERVING for every service name except those listed, which get NOT_SERVING.

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <set>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"

namespace {

class HealthService final : public grpc::health::v1::Health::Service {
 public:
  explicit HealthService(std::set<std::string> notServing) : notServing_(std::move(notServing)) {}

  grpc::Status Check(grpc::ServerContext* /*context*/,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override {
    response->set_status(notServing_.contains(request->service())
                             ? grpc::health::v1::HealthCheckResponse::NOT_SERVING
                             : grpc::health::v1::HealthCheckResponse::SERVING);
    return grpc::Status::OK;
  }

 private:
  std::set<std::string> notServing_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT [NOT_SERVING_SERVICE...]\n", argv[0]);
    return 2;
  }
  HealthService service(std::set<std::string>(argv + 2, argv + argc));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(std::string("0.0.0.0:") + argv[1], grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "cannot listen on port %s\n", argv[1]);
    return 1;
  }
  std::printf("grpc health server on port %d\n", port);
  std::fflush(stdout);
  server->Wait();
  return 0;
}
