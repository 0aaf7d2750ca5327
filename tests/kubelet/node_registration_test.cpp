// `kite kubelet --kubeconfig` against a real `kite server --disable-agent`: the Node registers
// Ready with its labels and capacity, the node Lease renews, and stops renewing once the kubelet
// is killed. No container runtime is needed (the endpoint is unreachable on purpose).

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kite/api/coordination/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/client/client.h"
#include "kite/kubelet/node_status.h"
#include "test_server.h"

#ifndef KITE_BINARY
#error "KITE_BINARY must name the kite executable"
#endif

namespace kite::kubelet {
namespace {

namespace fs = std::filesystem;
using client::testing::freeLoopbackPort;
using client::testing::TestServer;

// Polls until `done` holds; the deadline only ends a hung test, it is not what is tested.
bool eventually(const std::function<bool()>& done,
                std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (done()) return true;
    } catch (const std::exception&) {
      // not there yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

class KubeletProcess {
 public:
  KubeletProcess(const fs::path& kubeconfig, const fs::path& dir) {
    fs::create_directories(dir / "manifests");
    std::vector<std::string> args = {KITE_BINARY,
                                     "kubelet",
                                     "--kubeconfig",
                                     kubeconfig.string(),
                                     "--node-name",
                                     "n1",
                                     "--pod-manifest-path",
                                     (dir / "manifests").string(),
                                     "--root-dir",
                                     (dir / "root").string(),
                                     "--pod-logs-dir",
                                     (dir / "logs").string(),
                                     "--container-runtime-endpoint",
                                     "unix:///nonexistent",
                                     "--healthz-port",
                                     std::to_string(freeLoopbackPort()),
                                     "--node-lease-renew-interval",
                                     "1s",
                                     "--cgroup-root",
                                     "/kite-node-registration-test"};
    const std::string log = (dir / "kubelet.log").string();
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~KubeletProcess() { kill9(); }
  KubeletProcess(const KubeletProcess&) = delete;
  KubeletProcess& operator=(const KubeletProcess&) = delete;

  void kill9() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  bool running() {
    int status = 0;
    return pid_ > 0 && waitpid(pid_, &status, WNOHANG) == 0;
  }

 private:
  pid_t pid_ = -1;
};

// A temporary folder removed however the test ends.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "kite-node-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// The kubelet here has no container runtime: it registers the Node anyway, reports it not
// Ready with upstream's reason, and keeps its Lease.
TEST(NodeRegistration, RegistersNodeWithoutRuntimeAndRenewsLeaseUntilKilled) {
  TestServer server;
  server.start();
  client::Client api(server.config());

  const TempDir temp;
  const fs::path& dir = temp.path;
  {
    KubeletProcess kubelet(server.kubeconfig(), dir);

    api::core::v1::Node node;
    ASSERT_TRUE(eventually([&] {
      node = api.get<api::core::v1::Node>("", "n1");
      for (const auto& c : node.status.conditions) {
        if (c.type == "Ready") {
          return c.status == "False" && c.reason == "KubeletNotReady" &&
                 c.message == "container runtime is down";
        }
      }
      return false;
    })) << "node n1 never reported itself not Ready for want of its runtime";
    EXPECT_TRUE(kubelet.running());
    EXPECT_EQ(node.metadata.labels["kubernetes.io/os"], "linux");
    EXPECT_FALSE(node.metadata.labels["kubernetes.io/arch"].empty());
    EXPECT_FALSE(node.metadata.labels["kubernetes.io/hostname"].empty());
    EXPECT_EQ(node.status.capacity.at("pods").toString(), "110");
    EXPECT_GT(node.status.capacity.at("cpu").milliValue(), 0);
    EXPECT_GT(node.status.capacity.at("memory").value(), 0);
    EXPECT_GT(node.status.capacity.at("ephemeral-storage").value(), 0);
    EXPECT_EQ(node.status.nodeInfo.kubeletVersion, "v1.32.0-kite");
    EXPECT_EQ(node.status.nodeInfo.operatingSystem, "linux");
    EXPECT_EQ(node.status.daemonEndpoints.kubeletEndpoint.Port, 10250);
    bool hasHostname = false;
    for (const auto& a : node.status.addresses) hasHostname |= a.type == "Hostname";
    EXPECT_TRUE(hasHostname);

    api::coordination::v1::Lease lease;
    ASSERT_TRUE(eventually([&] {
      lease = api.get<api::coordination::v1::Lease>("kube-node-lease", "n1");
      return true;
    })) << "no lease kube-node-lease/n1";
    EXPECT_EQ(lease.spec.holderIdentity, "n1");
    EXPECT_EQ(lease.spec.leaseDurationSeconds, 40);
    ASSERT_EQ(lease.metadata.ownerReferences.size(), 1U);
    EXPECT_EQ(lease.metadata.ownerReferences[0].kind, "Node");
    EXPECT_EQ(lease.metadata.ownerReferences[0].uid, node.metadata.uid);

    // Renewed: the resourceVersion and renewTime move on.
    const auto first = lease;
    ASSERT_TRUE(eventually([&] {
      lease = api.get<api::coordination::v1::Lease>("kube-node-lease", "n1");
      return lease.metadata.resourceVersion != first.metadata.resourceVersion &&
             lease.spec.renewTime > first.spec.renewTime;
    })) << "the lease was not renewed";

    kubelet.kill9();
    // After the kill, several renew intervals pass without a change.
    const auto last = api.get<api::coordination::v1::Lease>("kube-node-lease", "n1");
    std::this_thread::sleep_for(std::chrono::seconds(4));
    const auto after = api.get<api::coordination::v1::Lease>("kube-node-lease", "n1");
    EXPECT_EQ(after.metadata.resourceVersion, last.metadata.resourceVersion);
    EXPECT_EQ(after.spec.renewTime, last.spec.renewTime);
  }
}

// The pod CIDR the node-ipam controller assigns after registration reaches the runtime (through
// onPodCidrs), even though no status write brings the Node back in between.
TEST(NodeRegistration, HandsTheAssignedPodCidrToTheRuntime) {
  TestServer server;
  server.start();
  client::Client api(server.config());

  NodeStatusOptions options;
  options.nodeName = "cidr-node";
  options.checkFrequency = std::chrono::seconds(1);
  NodeStatusManager manager(api, base::realClock(), options, [] { return MachineSnapshot{}; });
  std::mutex mutex;
  std::vector<std::vector<std::string>> handed;
  bool failOnce = true;
  manager.onPodCidrs([&](const std::vector<std::string>& cidrs) {
    std::lock_guard lock(mutex);
    if (std::exchange(failOnce, false)) throw std::runtime_error("runtime not there yet");
    handed.push_back(cidrs);
  });
  manager.start();
  ASSERT_TRUE(eventually(
      [&] { return !api.get<api::core::v1::Node>("", "cidr-node").metadata.uid.empty(); }));
  api.patch<api::core::v1::Node>(
      "", "cidr-node", client::PatchType::Merge,
      R"({"spec":{"podCIDR":"10.42.7.0/24","podCIDRs":["10.42.7.0/24"]}})");
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return !handed.empty();
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // a few more checks
  manager.stop();
  std::lock_guard lock(mutex);
  ASSERT_EQ(handed.size(), 1U) << "handed again without a change";
  EXPECT_EQ(handed[0], std::vector<std::string>{"10.42.7.0/24"});
}

}  // namespace
}  // namespace kite::kubelet
