#include "test_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kite/client/client.h"

#ifndef KITE_BINARY
#error "KITE_BINARY must name the kite executable"
#endif

namespace kite::client::testing {

int freeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

namespace {

// The end of the server's log, for the failure message (the folder is removed afterwards).
std::string logTail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  constexpr std::size_t kMax = 2000;
  if (text.size() > kMax) text.erase(0, text.size() - kMax);
  return text.empty() ? "(empty log)" : text;
}

}  // namespace

TestServer::TestServer(std::vector<std::string> extraArgs, bool withControlLoops)
    : extraArgs_(std::move(extraArgs)), withControlLoops_(withControlLoops) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kite-client-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  kubeconfig_ = dir_ / "admin.kubeconfig";
  port_ = freeLoopbackPort();
}

TestServer::~TestServer() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void TestServer::start() {
  if (pid_ > 0) return;
  std::filesystem::remove(kubeconfig_);
  const std::string port = std::to_string(port_);
  const std::string dataDir = (dir_ / "data").string();
  const std::string log = (dir_ / "server.log").string();
  const std::string kc = kubeconfig_.string();
  // KITE_TEST_BINARY: a kite binary of one's own (e.g. a copy built from main while the tree's
  // own kite is being changed); the build's kite otherwise.
  const char* binary = std::getenv("KITE_TEST_BINARY");
  std::vector<std::string> args = {binary != nullptr && *binary != '\0' ? binary : KITE_BINARY,
                                   "server",
                                   "--disable-agent",
                                   "--bind-address",
                                   "127.0.0.1",
                                   "--https-listen-port",
                                   port,
                                   "--data-dir",
                                   dataDir,
                                   "--write-kubeconfig",
                                   kc,
                                   "--log-level",
                                   "warn"};
  if (!withControlLoops_) {
    // The API server alone: nothing else writing objects (the kube-dns Service included).
    args.emplace_back("--disable-scheduler");
    args.emplace_back("--disable-controller-manager");
    args.emplace_back("--disable=coredns");
  }
  args.insert(args.end(), extraArgs_.begin(), extraArgs_.end());
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // A test that crashes must not leave its server behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The server's output goes to a log file in the test folder (dup2 onto 1 and 2).
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  // Ready when the kubeconfig is written and the server answers a request.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("kite server exited at start: " + logTail(log));
    }
    if (std::filesystem::exists(kubeconfig_)) {
      try {
        Client probe(config());
        probe.getRaw("/api");
        return;
      } catch (const std::exception&) {
        // not listening yet
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop();
  throw std::runtime_error("kite server did not become ready: " + logTail(log));
}

void TestServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void TestServer::restart() {
  stop();
  start();
}

RestConfig TestServer::config() const { return loadKubeconfig(kubeconfig_); }

}  // namespace kite::client::testing
