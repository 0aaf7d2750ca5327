// The generated OpenAPI documents as the real kubectl reads them. A small loopback HTTP
// server serves discovery (from builtinResources()) and the v3 documents, accepts writes by
// echoing the object, and records every request. kubectl create/apply validate fields on the
// server (fieldValidation=Strict in the query) only when they find the parameter on the
// kind's PATCH operation; otherwise they ask /openapi/v2 for protobuf, which is not served.
// Skipped when kubectl is not installed.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "kite/api/openapi.h"
#include "kite/api/registry_info.h"

namespace kite::api {
namespace {

namespace fs = std::filesystem;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr const char* kKubectl = "/usr/bin/kubectl";

void key(Writer& w, std::string_view k) { w.Key(k.data(), static_cast<unsigned>(k.size())); }
void string(Writer& w, std::string_view s) { w.String(s.data(), static_cast<unsigned>(s.size())); }

std::string apiVersionsJson() {
  return R"({"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":)"
         R"([{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]})";
}

std::string groupListJson() {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  key(w, "kind");
  w.String("APIGroupList");
  key(w, "apiVersion");
  w.String("v1");
  key(w, "groups");
  w.StartArray();
  std::set<std::string_view> seen;
  for (const auto& r : builtinResources()) {
    if (r.group.empty() || !seen.insert(r.apiVersion).second) continue;
    w.StartObject();
    key(w, "name");
    string(w, r.group);
    for (const char* field : {"versions", "preferredVersion"}) {
      key(w, field);
      if (std::string_view(field) == "versions") w.StartArray();
      w.StartObject();
      key(w, "groupVersion");
      string(w, r.apiVersion);
      key(w, "version");
      string(w, r.version);
      w.EndObject();
      if (std::string_view(field) == "versions") w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

void stringArray(Writer& w, std::string_view name, std::span<const std::string_view> values) {
  key(w, name);
  w.StartArray();
  for (auto v : values) string(w, v);
  w.EndArray();
}

std::string resourceListJson(std::string_view apiVersion) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  key(w, "kind");
  w.String("APIResourceList");
  key(w, "apiVersion");
  w.String("v1");
  key(w, "groupVersion");
  string(w, apiVersion);
  key(w, "resources");
  w.StartArray();
  for (const auto& r : builtinResources()) {
    if (r.apiVersion != apiVersion) continue;
    w.StartObject();
    key(w, "name");
    string(w, r.resource);
    key(w, "singularName");
    string(w, r.singular);
    key(w, "namespaced");
    w.Bool(r.namespaced);
    key(w, "kind");
    string(w, r.kind);
    stringArray(w, "verbs", r.verbs);
    stringArray(w, "shortNames", r.shortNames);
    w.EndObject();
    for (const auto& sub : r.subresources) {
      w.StartObject();
      key(w, "name");
      string(w, std::string(r.resource).append("/").append(sub.name));
      key(w, "singularName");
      w.String("");
      key(w, "namespaced");
      w.Bool(r.namespaced);
      key(w, "kind");
      string(w, sub.kind);
      stringArray(w, "verbs", sub.verbs);
      w.EndObject();
    }
  }
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

std::string openApiIndexJson() {
  std::string out = R"({"paths":{)";
  bool first = true;
  for (const auto& gv : openApiV3GroupVersions()) {
    if (!first) out.append(",");
    first = false;
    out.append("\"").append(gv.path).append(R"(":{"serverRelativeURL":"/openapi/v3/)");
    out.append(gv.path).append("?hash=").append(gv.hash).append("\"}");
  }
  return out.append("}}");
}

struct Response {
  int code = 200;
  std::string body;
};

// Answers like an API server that knows the built-in resources and stores nothing.
Response answer(std::string_view method, std::string_view target, std::string_view body) {
  const std::string_view path = target.substr(0, target.find('?'));
  if (method == "GET") {
    if (path == "/version") return {200, R"({"major":"1","minor":"32","gitVersion":"v1.32.0"})"};
    if (path == "/api") return {200, apiVersionsJson()};
    if (path == "/apis") return {200, groupListJson()};
    if (path == "/openapi/v3") return {200, openApiIndexJson()};
    if (path.starts_with("/openapi/v3/")) {
      const auto doc = openApiV3Document(path.substr(std::string_view("/openapi/v3/").size()));
      if (!doc.empty()) return {200, std::string(doc)};
    }
    for (const auto& r : builtinResources()) {
      const std::string base = r.group.empty() ? std::string("/api/").append(r.apiVersion)
                                               : std::string("/apis/").append(r.apiVersion);
      if (path == base) return {200, resourceListJson(r.apiVersion)};
    }
  } else if ((method == "POST" || method == "PUT" || method == "PATCH") &&
             path.starts_with("/api")) {
    return {method == "POST" ? 201 : 200, body.starts_with("{") ? std::string(body) : "{}"};
  }
  return {404, R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound",)"
               R"("code":404,"message":"not found"})"};
}

// A loopback HTTP/1.1 server: one connection at a time, each closed after one response
// (kubectl then opens a new one), every request line recorded.
class FakeApiServer {
 public:
  FakeApiServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    auto* sa = reinterpret_cast<sockaddr*>(&addr);
    if (::bind(fd_, sa, len) != 0 || ::listen(fd_, 64) != 0 || ::getsockname(fd_, sa, &len) != 0) {
      ::close(fd_);
      throw std::runtime_error("bind/listen on 127.0.0.1 failed");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::jthread([this](const std::stop_token& stop) { serve(stop); });
  }
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;
  FakeApiServer(FakeApiServer&&) = delete;
  FakeApiServer& operator=(FakeApiServer&&) = delete;
  ~FakeApiServer() {
    thread_.request_stop();
    thread_.join();
    ::close(fd_);
  }

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::vector<std::string> requests() const {
    const std::scoped_lock lock(mutex_);
    return requests_;
  }
  void clear() {
    const std::scoped_lock lock(mutex_);
    requests_.clear();
  }

 private:
  void serve(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;  // the timeout only rechecks the stop flag
      const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      handle(conn);
      ::close(conn);
    }
  }

  // Reads one request; false on a closed or silent connection.
  static bool readRequest(int conn, std::string& head, std::string& body) {
    std::string data;
    std::array<char, 16384> buf{};
    std::size_t headEnd = std::string::npos;
    std::size_t need = 0;
    while (true) {
      if (headEnd == std::string::npos) {
        headEnd = data.find("\r\n\r\n");
        if (headEnd != std::string::npos) {
          head = data.substr(0, headEnd);
          std::string lower = head;
          for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          const auto cl = lower.find("\r\ncontent-length:");
          need = cl == std::string::npos
                     ? 0
                     : std::stoul(head.substr(cl + std::string_view("\r\ncontent-length:").size()));
        }
      }
      if (headEnd != std::string::npos && data.size() >= headEnd + 4 + need) {
        body = data.substr(headEnd + 4, need);
        return true;
      }
      pollfd p{conn, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) return false;
      const auto n = ::read(conn, buf.data(), buf.size());
      if (n <= 0) return false;
      data.append(buf.data(), static_cast<std::size_t>(n));
    }
  }

  void handle(int conn) {
    std::string head;
    std::string body;
    if (!readRequest(conn, head, body)) return;
    const std::string line = head.substr(0, head.find("\r\n"));
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 + 1);
    const std::string method = line.substr(0, sp1);
    const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    {
      const std::scoped_lock lock(mutex_);
      requests_.push_back(std::string(method).append(" ").append(target));
    }
    const Response r = answer(method, target, body);
    std::string out = "HTTP/1.1 ";
    out.append(std::to_string(r.code)).append(r.code < 300 ? " OK" : " Not Found");
    out.append("\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ");
    out.append(std::to_string(r.body.size())).append("\r\n\r\n").append(r.body);
    std::size_t sent = 0;
    while (sent < out.size()) {
      const auto n = ::send(conn, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
  std::jthread thread_;
};

struct KubectlRun {
  int status = -1;
  std::string output;
};

class KubectlOpenApi : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kKubectl, X_OK) != 0) GTEST_SKIP() << kKubectl << " is not installed";
    std::string tmpl = (fs::temp_directory_path() / "kite-openapi-kubectl-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) FAIL() << "mkdtemp failed";
    dir_ = tmpl;
    server_ = std::make_unique<FakeApiServer>();
    std::ofstream(dir_ / "kubeconfig")
        << "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "
           "\"http://127.0.0.1:"
        << server_->port()
        << "\"}\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: x\n  context: {cluster: c, "
           "user: u, namespace: default}\ncurrent-context: x\n";
  }
  void TearDown() override {
    server_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  fs::path write(const std::string& name, std::string_view text) {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }

  // Runs kubectl with its own kubeconfig, cache and HOME; stdout and stderr together.
  KubectlRun kubectl(std::vector<std::string> args) {
    args.insert(args.begin(), {kKubectl, "--cache-dir", (dir_ / "cache").string()});
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string kubeconfig = "KUBECONFIG=" + (dir_ / "kubeconfig").string();
    std::string home = "HOME=" + dir_.string();
    std::string pathEnv = "PATH=/usr/bin:/bin";
    std::array<char*, 4> envp{kubeconfig.data(), home.data(), pathEnv.data(), nullptr};
    std::array<int, 2> pipeFds{};
    if (::pipe2(pipeFds.data(), O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 2);
    pid_t pid = 0;
    const int spawned = ::posix_spawn(&pid, kKubectl, &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipeFds[1]);
    KubectlRun run;
    if (spawned != 0) {
      ::close(pipeFds[0]);
      throw std::runtime_error("cannot start kubectl");
    }
    std::array<char, 4096> buf{};
    ssize_t n = 0;
    while ((n = ::read(pipeFds[0], buf.data(), buf.size())) > 0) {
      run.output.append(buf.data(), static_cast<std::size_t>(n));
    }
    ::close(pipeFds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
  }

  // The write requests (POST/PUT/PATCH) and whether /openapi/v2 was asked for.
  std::vector<std::string> writes(bool& askedV2) const {
    std::vector<std::string> out;
    askedV2 = false;
    for (const auto& r : server_->requests()) {
      if (r.starts_with("GET /openapi/v2")) askedV2 = true;
      if (r.starts_with("POST ") || r.starts_with("PUT ") || r.starts_with("PATCH ")) {
        out.push_back(r);
      }
    }
    return out;
  }

  fs::path dir_;
  std::unique_ptr<FakeApiServer> server_;
};

constexpr std::string_view kPod = R"(apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  containers: [{name: web, image: nginx}]
)";

constexpr std::string_view kDeployment = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
)";

TEST_F(KubectlOpenApi, CreateDryRunValidatesOnTheServer) {
  const auto file = write("pod.yaml", kPod);
  const KubectlRun run = kubectl({"create", "--dry-run=server", "--validate=strict", "-f", file});
  EXPECT_EQ(run.status, 0) << run.output;
  bool askedV2 = false;
  const auto w = writes(askedV2);
  ASSERT_EQ(w.size(), 1U) << run.output;
  EXPECT_TRUE(w[0].starts_with("POST /api/v1/namespaces/default/pods?")) << w[0];
  EXPECT_NE(w[0].find("fieldValidation=Strict"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("dryRun=All"), std::string::npos) << w[0];
  EXPECT_FALSE(askedV2);
}

TEST_F(KubectlOpenApi, ApplyClientAndServerSide) {
  const auto file = write("deploy.yaml", kDeployment);
  KubectlRun run = kubectl({"apply", "-f", file});
  EXPECT_EQ(run.status, 0) << run.output;
  run = kubectl({"apply", "--server-side", "-f", file});
  EXPECT_EQ(run.status, 0) << run.output;
  bool askedV2 = false;
  const auto w = writes(askedV2);
  ASSERT_EQ(w.size(), 2U) << run.output;
  EXPECT_TRUE(w[0].starts_with("POST /apis/apps/v1/namespaces/default/deployments?")) << w[0];
  EXPECT_TRUE(w[1].starts_with("PATCH /apis/apps/v1/namespaces/default/deployments/web?")) << w[1];
  for (const auto& r : w) EXPECT_NE(r.find("fieldValidation=Strict"), std::string::npos) << r;
  EXPECT_FALSE(askedV2);
}

// One object of every built-in kind that can be created and patched.
TEST_F(KubectlOpenApi, EveryPatchableKindValidatesOnTheServer) {
  std::string docs;
  std::size_t count = 0;
  for (const auto& r : builtinResources()) {
    if (!r.hasVerb("create") || !r.hasVerb("patch")) continue;
    docs.append("---\napiVersion: ").append(r.apiVersion).append("\nkind: ").append(r.kind);
    docs.append("\nmetadata:\n  name: x\n");
    if (r.namespaced) docs.append("  namespace: default\n");
    ++count;
  }
  const auto file = write("all.yaml", docs);
  const KubectlRun run = kubectl({"create", "--dry-run=server", "-f", file});
  EXPECT_EQ(run.status, 0) << run.output;
  bool askedV2 = false;
  const auto w = writes(askedV2);
  EXPECT_EQ(w.size(), count) << run.output;
  for (const auto& r : w) EXPECT_NE(r.find("fieldValidation=Strict"), std::string::npos) << r;
  EXPECT_FALSE(askedV2);
}

}  // namespace
}  // namespace kite::api
