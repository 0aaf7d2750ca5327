// libFuzzer target: arbitrary requests into ApiServer::handle, against one API server over a
// SQLite store in a temporary directory per process. Every request must be answered exactly
// once, with an HTTP status in 200..599 and, for an error, a JSON body; never a crash, a
// sanitizer report or a hang.
//
// Input layout (so that seeds stay readable and mutations stay meaningful):
//   byte 0: method        (kMethods[b % size])
//   byte 1: path prefix   (kPaths[b % size], a real resource path)
//   byte 2: content type  (kContentTypes[b % size])
//   byte 3: accept        (kAccepts[b % size])
//   then up to the first '\n': appended to the path (names, namespaces, subresources)
//   then up to the next '\n': the query string ("" for none)
//   the rest: the body

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "fakes/fake_http.h"
#include "kite/controlplane/apiserver.h"
#include "kite/controlplane/sqlite_store.h"

namespace {

constexpr std::array<std::string_view, 9> kMethods = {"GET",  "POST",    "PUT", "PATCH", "DELETE",
                                                      "HEAD", "OPTIONS", "",    "BREW"};

constexpr std::array<std::string_view, 26> kPaths = {
    "",
    "/",
    "/api/v1/namespaces/default/pods",
    "/api/v1/namespaces/default/pods/",
    "/api/v1/pods",
    "/api/v1/namespaces",
    "/api/v1/namespaces/",
    "/api/v1/namespaces/default/configmaps/",
    "/api/v1/namespaces/default/services/",
    "/api/v1/namespaces/default/secrets/",
    "/api/v1/namespaces/default/serviceaccounts/",
    "/api/v1/namespaces/default/events/",
    "/api/v1/nodes/",
    "/apis/apps/v1/namespaces/default/deployments/",
    "/apis/apps/v1/namespaces/default/statefulsets/",
    "/apis/batch/v1/namespaces/default/jobs/",
    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/",
    "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/",
    "/apis/rbac.authorization.k8s.io/v1/clusterroles/",
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    "/apis/",
    "/api",
    "/version",
    "/openapi/v2",
    "/openapi/v3/",
    "/healthz",
};

constexpr std::array<std::string_view, 11> kContentTypes = {
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "",
    "application/json; charset=utf-8",
    "text/plain",
    "\x01garbage;;=",
};

constexpr std::array<std::string_view, 7> kAccepts = {
    "application/json",
    "application/json;as=Table;v=v1;g=meta.k8s.io",
    "application/vnd.kubernetes.protobuf",
    "*/*",
    "",
    "application/yaml",
    "application/json;stream=watch",
};

// Longer than libFuzzer's -timeout, which reports a hang first with the input that caused it.
constexpr std::chrono::seconds kAnswerTimeout{120};

template <std::size_t N>
std::string_view pick(const std::array<std::string_view, N>& table, std::uint8_t b) {
  return table[b % N];
}

[[noreturn]] void fail(const kite::http::Request& request, const std::string& what) {
  std::fprintf(stderr, "%s %s: %s\n", request.method.c_str(), request.target.c_str(), what.c_str());
  std::abort();
}

// The store's temporary directory, the store and the server, once per process.
class Fixture {
 public:
  Fixture() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kite-fuzz-request-XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
    dir_ = tmpl;
    kite::controlplane::SqliteStoreOptions storeOptions;
    storeOptions.path = dir_ / "state.db";
    storeOptions.autoCompactInterval = std::chrono::milliseconds(0);
    store_ = kite::controlplane::openSqliteStore(storeOptions);
    kite::controlplane::ApiServerOptions options;
    options.store = store_.get();
    server_ = std::make_unique<kite::controlplane::ApiServer>(options);
    // Objects the seeds patch, scale and delete, so that those reach past "not found" from
    // the first run on (libFuzzer replays the seeds smallest first, not creates first).
    create("/api/v1/namespaces/default/pods", kPodJson);
    create("/apis/apps/v1/namespaces/default/deployments", kDeploymentJson);
  }
  ~Fixture() {
    server_->shutdown();
    server_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  kite::controlplane::ApiServer& server() { return *server_; }

 private:
  static constexpr std::string_view kPodJson =
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{"app":"web"}},)"
      R"("spec":{"containers":[{"name":"c","image":"nginx:1.25"}]}})";
  static constexpr std::string_view kDeploymentJson =
      R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{)"
      R"("replicas":1,"selector":{"matchLabels":{"app":"d"}},"template":{"metadata":{)"
      R"("labels":{"app":"d"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}})";

  void create(const std::string& path, std::string_view json) {
    auto request = kite::testing::makeRequest("POST", path, std::string(json), "application/json");
    auto responder = std::make_shared<kite::testing::FakeResponder>();
    server_->handle(request, responder);
    if (!responder->wait(kAnswerTimeout) || responder->response().status != 201)
      throw std::runtime_error("cannot create the fixture object at " + path + ": " +
                               responder->response().body);
  }

  std::filesystem::path dir_;
  std::unique_ptr<kite::controlplane::Store> store_;
  std::unique_ptr<kite::controlplane::ApiServer> server_;
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// Splits off everything up to the next '\n' (or the end) and the '\n' itself.
std::string_view takeLine(std::string_view& rest) {
  const auto end = rest.find('\n');
  const auto line = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  return line;
}

kite::http::Request decodeInput(std::string_view input) {
  std::array<std::uint8_t, 4> selectors{};
  for (std::size_t i = 0; i < selectors.size() && i < input.size(); ++i)
    selectors.at(i) = static_cast<std::uint8_t>(input[i]);
  input.remove_prefix(std::min(input.size(), selectors.size()));

  kite::http::Request request;
  request.method = pick(kMethods, selectors[0]);
  request.path = pick(kPaths, selectors[1]);
  request.path.append(takeLine(input));
  request.query = takeLine(input);
  request.body = input;
  request.target = request.path;
  if (!request.query.empty()) request.target.append("?").append(request.query);
  const auto contentType = pick(kContentTypes, selectors[2]);
  if (!contentType.empty()) request.headers.emplace_back("content-type", contentType);
  const auto accept = pick(kAccepts, selectors[3]);
  if (!accept.empty()) request.headers.emplace_back("accept", accept);
  request.remoteAddress = "127.0.0.1:1";
  return request;
}

void check(const kite::http::Request& request, kite::testing::FakeResponder& responder) {
  if (!responder.wait(kAnswerTimeout)) fail(request, "no answer");
  if (responder.answers() != 1)
    fail(request, "answered " + std::to_string(responder.answers()) + " times");
  const auto response = responder.response();
  // KITE_FUZZ_TRACE=1: one line per request, to see what the seeds reach.
  if (std::getenv("KITE_FUZZ_TRACE") != nullptr)
    std::fprintf(stderr, "%s %s -> %d\n", request.method.c_str(), request.target.c_str(),
                 response.status);
  if (response.status < 200 || response.status > 599)
    fail(request, "status " + std::to_string(response.status));
  if (response.status >= 400 && request.method != "HEAD") {
    rapidjson::Document body;
    body.Parse(response.body.data(), response.body.size());
    if (body.HasParseError() || !body.IsObject())
      fail(request,
           "error " + std::to_string(response.status) + " without a JSON body: " + response.body);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  spdlog::set_level(spdlog::level::off);
  (void)fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);  // NOLINT
  auto request = decodeInput(input);
  const auto copy = request;  // handle() may move out of the request it is given
  auto responder = std::make_shared<kite::testing::FakeResponder>();
  fixture().server().handle(request, responder);
  check(copy, *responder);
  // A watch stays open until its client goes away: go away, as a client would.
  if (auto stream = responder->stream()) stream->disconnect();
  return 0;
}
