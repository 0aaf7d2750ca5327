#include "etcd_test_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "etcd/etcdserverpb/rpc.grpc.pb.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): not declared by unistd.h

namespace kite::controlplane::testing {
namespace {

constexpr std::chrono::seconds kStartGuard{60};
constexpr int kStartAttempts = 3;

// A closed file descriptor on scope exit.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int value) : fd(value) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd(other.fd) { other.fd = -1; }
  Fd& operator=(Fd&&) = delete;
  ~Fd() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

// `count` distinct free loopback ports: all sockets stay bound until every port is chosen.
// Never 2379/2380, the ports a machine's own etcd uses.
std::vector<int> freePorts(std::size_t count) {
  std::vector<Fd> held;
  std::vector<int> ports;
  while (ports.size() < count) {
    Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (socket.fd < 0) {
      throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    if (::bind(socket.fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(errno));
    }
    socklen_t length = sizeof(address);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    if (::getsockname(socket.fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error(std::string("getsockname: ") + std::strerror(errno));
    }
    const int port = ntohs(address.sin_port);
    held.push_back(std::move(socket));
    if (port != 2379 && port != 2380) {
      ports.push_back(port);
    }
  }
  return ports;
}

bool processExited(pid_t pid, int& status) { return ::waitpid(pid, &status, WNOHANG) == pid; }

}  // namespace

std::string etcdBinary() {
  const char* override = std::getenv("KITE_ETCD_BINARY");
  return override != nullptr && *override != '\0' ? override : "/usr/bin/etcd";
}

EtcdTestCluster::EtcdTestCluster(std::size_t members) {
  const std::string binary = etcdBinary();
  if (::access(binary.c_str(), X_OK) != 0) {
    throw std::runtime_error("etcd binary " + binary +
                             " not found or not executable: the etcd store tests need a real "
                             "etcd (Debian's etcd-server package, installed by "
                             "tools/install-deps.sh; or set KITE_ETCD_BINARY)");
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  pattern.append("/kite-etcd-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  dir_ = pattern;
  members_.resize(members);
  // A port picked as free can be taken by someone else before etcd binds it; start again
  // with new ports when a member dies during start-up.
  std::string lastFailure;
  for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
    try {
      start(binary);
      waitReady();
      return;
    } catch (const std::exception& error) {
      lastFailure = error.what();
      stopAll();
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
  throw std::runtime_error("etcd test cluster did not start: " + lastFailure);
}

EtcdTestCluster::~EtcdTestCluster() {
  stopAll();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void EtcdTestCluster::start(const std::string& binary) {
  const std::vector<int> ports = freePorts(members_.size() * 2);
  std::string initialCluster;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    Member& member = members_[i];
    member.name = "m" + std::to_string(i);
    member.clientUrl = "http://127.0.0.1:" + std::to_string(ports[2 * i]);
    member.peerUrl = "http://127.0.0.1:" + std::to_string(ports[2 * i + 1]);
    member.dataDir = dir_ + "/" + member.name;
    member.logPath = dir_ + "/" + member.name + ".log";
    std::error_code ignored;
    std::filesystem::remove_all(member.dataDir, ignored);
    if (!initialCluster.empty()) {
      initialCluster.append(",");
    }
    initialCluster.append(member.name).append("=").append(member.peerUrl);
  }
  // The machine's own etcd settings (ETCD_* variables) must not leak into test members.
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, "ETCD_", 5) != 0) {
      environment.emplace_back(*entry);
    }
  }
  const std::string token = "kite-test-" + std::filesystem::path(dir_).filename().string();
  for (Member& member : members_) {
    std::vector<std::string> args = {binary,
                                     "--name=" + member.name,
                                     "--data-dir=" + member.dataDir,
                                     "--listen-client-urls=" + member.clientUrl,
                                     "--advertise-client-urls=" + member.clientUrl,
                                     "--listen-peer-urls=" + member.peerUrl,
                                     "--initial-advertise-peer-urls=" + member.peerUrl,
                                     "--initial-cluster=" + initialCluster,
                                     "--initial-cluster-state=new",
                                     "--initial-cluster-token=" + token,
                                     "--logger=zap",
                                     "--log-outputs=stderr"};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& arg : args) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(environment.size() + 1);
    for (auto& entry : environment) {
      envp.push_back(entry.data());
    }
    envp.push_back(nullptr);

    const Fd log(::open(member.logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (log.fd < 0) {
      throw std::runtime_error("open " + member.logPath + ": " + std::strerror(errno));
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
      // The member dies with the test process even when no destructor runs (a crash).
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) {
        ::_exit(127);
      }
      ::dup2(log.fd, STDOUT_FILENO);
      ::dup2(log.fd, STDERR_FILENO);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    member.pid = pid;
  }
}

void EtcdTestCluster::waitReady() {
  const auto deadline = std::chrono::steady_clock::now() + kStartGuard;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    Member& member = members_[i];
    // Retries come quickly: gRPC's default back-off after the refused first connects would
    // add seconds to every start.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
    auto channel = grpc::CreateCustomChannel(member.clientUrl.substr(std::strlen("http://")),
                                             grpc::InsecureChannelCredentials(), args);
    auto maintenance = etcdserverpb::Maintenance::NewStub(channel);
    for (;;) {
      int status = 0;
      if (processExited(member.pid, status)) {
        // Reaped here: forget the PID so nothing signals a reused one.
        member.pid = -1;
        throw std::runtime_error("etcd member " + member.name + " exited during start-up:\n" +
                                 logTail(i));
      }
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
      context.set_wait_for_ready(true);
      etcdserverpb::StatusRequest request;
      etcdserverpb::StatusResponse response;
      if (maintenance->Status(&context, request, &response).ok() && response.leader() != 0) {
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("etcd member " + member.name + " at " + member.clientUrl +
                                 " not ready within " + std::to_string(kStartGuard.count()) +
                                 "s:\n" + logTail(i));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

void EtcdTestCluster::kill(std::size_t member) {
  Member& m = members_.at(member);
  if (m.pid <= 0) {
    return;
  }
  ::kill(m.pid, SIGKILL);
  int status = 0;
  while (::waitpid(m.pid, &status, 0) < 0 && errno == EINTR) {
  }
  m.pid = -1;
}

void EtcdTestCluster::stopAll() noexcept {
  for (std::size_t i = 0; i < members_.size(); ++i) {
    kill(i);
  }
}

std::vector<std::string> EtcdTestCluster::clientUrls() const {
  std::vector<std::string> urls;
  urls.reserve(members_.size());
  for (const auto& member : members_) {
    urls.push_back(member.clientUrl);
  }
  return urls;
}

std::size_t EtcdTestCluster::leader() const {
  const auto deadline = std::chrono::steady_clock::now() + kStartGuard;
  for (;;) {
    std::map<std::uint64_t, std::size_t> idToIndex;
    std::uint64_t leaderId = 0;
    for (std::size_t i = 0; i < members_.size(); ++i) {
      if (members_[i].pid <= 0) {
        continue;
      }
      auto channel = grpc::CreateChannel(members_[i].clientUrl.substr(std::strlen("http://")),
                                         grpc::InsecureChannelCredentials());
      auto maintenance = etcdserverpb::Maintenance::NewStub(channel);
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
      etcdserverpb::StatusResponse response;
      if (maintenance->Status(&context, etcdserverpb::StatusRequest{}, &response).ok()) {
        idToIndex[response.header().member_id()] = i;
        if (response.leader() != 0) {
          leaderId = response.leader();
        }
      }
    }
    if (auto found = idToIndex.find(leaderId); leaderId != 0 && found != idToIndex.end()) {
      return found->second;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("no etcd leader known within the guard");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string EtcdTestCluster::logTail(std::size_t member) const {
  std::ifstream in(members_.at(member).logPath);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  std::string tail;
  const std::size_t from = lines.size() > 20 ? lines.size() - 20 : 0;
  for (std::size_t i = from; i < lines.size(); ++i) {
    tail.append(lines[i]).append("\n");
  }
  return tail;
}

}  // namespace kite::controlplane::testing
