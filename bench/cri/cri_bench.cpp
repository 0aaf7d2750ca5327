// CRI client benchmark, run against the test bed's real containerd:
//   tests/testbed/testbed.sh exec build/testbed build/bench/cri/bench_cri
//
// 1. Per-call overhead: the same RPC through kite's typed client and through
//    the bare generated gRPC stub on its own channel. The bare stub's time is
//    transport plus the runtime's own work; the difference is what kite adds.
// 2. Pod start: RunPodSandbox + CreateContainer + StartContainer for 20 pods,
//    one after another, median and p99, printed as a table.

#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "kite/cri/detail/grpc_services.h"
#include "kite/cri/grpc_client.h"

namespace {

namespace v1 = kite::cri::v1;
using Clock = std::chrono::steady_clock;

std::string endpoint() {
  const char* value = std::getenv("KITE_TB_CRI_ENDPOINT");
  if (value == nullptr) {
    throw std::runtime_error("KITE_TB_CRI_ENDPOINT is not set: run through testbed.sh exec");
  }
  return value;
}

kite::cri::Client& client() {
  static kite::cri::Client c = kite::cri::connect({.endpoint = endpoint()});
  return c;
}

v1::RuntimeService::Stub& bareRuntime() {
  static auto stub = v1::RuntimeService::NewStub(
      grpc::CreateChannel(endpoint(), grpc::InsecureChannelCredentials()));
  return *stub;
}

v1::ImageService::Stub& bareImages() {
  static auto stub = v1::ImageService::NewStub(
      grpc::CreateChannel(endpoint(), grpc::InsecureChannelCredentials()));
  return *stub;
}

template <class Call>
void checked(Call&& call) {
  grpc::ClientContext context;
  if (!call(context).ok()) throw std::runtime_error("bare stub call failed");
}

void VersionKite(benchmark::State& state) {
  for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(client().runtime->version());
}
void VersionBareStub(benchmark::State& state) {
  v1::VersionRequest request;
  request.set_version("v1");
  v1::VersionResponse response;
  for ([[maybe_unused]] auto _ : state) {
    checked([&](grpc::ClientContext& c) { return bareRuntime().Version(&c, request, &response); });
  }
}
void ListPodSandboxKite(benchmark::State& state) {
  for ([[maybe_unused]] auto _ : state)
    benchmark::DoNotOptimize(client().runtime->listPodSandbox());
}
void ListPodSandboxBareStub(benchmark::State& state) {
  v1::ListPodSandboxRequest request;
  v1::ListPodSandboxResponse response;
  for ([[maybe_unused]] auto _ : state) {
    checked([&](grpc::ClientContext& c) {
      return bareRuntime().ListPodSandbox(&c, request, &response);
    });
  }
}
void ImageStatusKite(benchmark::State& state) {
  const auto spec = kite::cri::imageSpec("busybox:1.35");
  for ([[maybe_unused]] auto _ : state)
    benchmark::DoNotOptimize(client().images->imageStatus(spec));
}
void ImageStatusBareStub(benchmark::State& state) {
  v1::ImageStatusRequest request;
  request.mutable_image()->set_image("busybox:1.35");
  v1::ImageStatusResponse response;
  for ([[maybe_unused]] auto _ : state) {
    checked(
        [&](grpc::ClientContext& c) { return bareImages().ImageStatus(&c, request, &response); });
  }
}

BENCHMARK(VersionKite)->Unit(benchmark::kMicrosecond);
BENCHMARK(VersionBareStub)->Unit(benchmark::kMicrosecond);
BENCHMARK(ListPodSandboxKite)->Unit(benchmark::kMicrosecond);
BENCHMARK(ListPodSandboxBareStub)->Unit(benchmark::kMicrosecond);
BENCHMARK(ImageStatusKite)->Unit(benchmark::kMicrosecond);
BENCHMARK(ImageStatusBareStub)->Unit(benchmark::kMicrosecond);

// Collects each benchmark's median so the overhead table pairs kite with the bare stub.
class MedianCollector : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (median ||
          (run.run_type == Run::RT_Iteration && !medians.contains(run.run_name.function_name))) {
        medians[run.run_name.function_name] = run.GetAdjustedRealTime();
      }
    }
  }
  std::map<std::string, double> medians;  // microseconds
};

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto index =
      static_cast<std::size_t>(std::lround(p * static_cast<double>(values.size() - 1)));
  return values.at(index);
}

void podStartTable() {
  constexpr int kPods = 20;
  const char* cgroupParent = std::getenv("KITE_TB_CGROUP_PARENT");
  auto& runtime = *client().runtime;
  client().images->pullImage(kite::cri::imageSpec("busybox:1.35"));
  std::vector<double> sandboxMs, containerMs, totalMs;
  std::vector<std::string> ids;
  for (int i = 0; i < kPods; ++i) {
    v1::PodSandboxConfig sandbox;
    sandbox.mutable_metadata()->set_name("bench-" + std::to_string(i));
    sandbox.mutable_metadata()->set_namespace_("kite-bench");
    sandbox.mutable_metadata()->set_uid("bench-uid-" + std::to_string(i) + "-" +
                                        std::to_string(::getpid()));
    if (cgroupParent != nullptr) {
      sandbox.mutable_linux()->set_cgroup_parent(std::string(cgroupParent) + "/bench" +
                                                 std::to_string(i));
    }
    v1::ContainerConfig container;
    container.mutable_metadata()->set_name("sleep");
    container.mutable_image()->set_image("busybox:1.35");
    container.add_command("sleep");
    container.add_command("3600");

    const auto t0 = Clock::now();
    const auto podId = runtime.runPodSandbox(sandbox);
    const auto t1 = Clock::now();
    runtime.startContainer(runtime.createContainer(podId, container, sandbox));
    const auto t2 = Clock::now();
    ids.push_back(podId);
    const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    sandboxMs.push_back(ms(t1 - t0));
    containerMs.push_back(ms(t2 - t1));
    totalMs.push_back(ms(t2 - t0));
  }
  for (const auto& id : ids) {
    runtime.stopPodSandbox(id);
    runtime.removePodSandbox(id);
  }
  std::printf("\nPod start on containerd, %d pods one after another (ms)\n", kPods);
  std::printf("%-34s %10s %10s\n", "step", "median", "p99");
  std::printf("%-34s %10.1f %10.1f\n", "RunPodSandbox", percentile(sandboxMs, 0.5),
              percentile(sandboxMs, 0.99));
  std::printf("%-34s %10.1f %10.1f\n", "CreateContainer+StartContainer",
              percentile(containerMs, 0.5), percentile(containerMs, 0.99));
  std::printf("%-34s %10.1f %10.1f\n", "sandbox + container", percentile(totalMs, 0.5),
              percentile(totalMs, 0.99));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  MedianCollector reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  std::printf("\nPer-call cost (median us): kite client vs bare generated stub\n");
  std::printf("%-16s %12s %12s %12s\n", "call", "kite", "bare stub", "overhead");
  for (const char* call : {"Version", "ListPodSandbox", "ImageStatus"}) {
    const double kite = reporter.medians[std::string(call) + "Kite"];
    const double bare = reporter.medians[std::string(call) + "BareStub"];
    std::printf("%-16s %12.1f %12.1f %11.1f%%\n", call, kite, bare,
                bare > 0 ? 100.0 * (kite - bare) / bare : 0.0);
  }
  podStartTable();
  benchmark::Shutdown();
  return 0;
}
