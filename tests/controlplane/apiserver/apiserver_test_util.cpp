#include "apiserver_test_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace kite::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kite-apiserver-test-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string Reply::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

rapidjson::Document Reply::json() const {
  rapidjson::Document d;
  d.Parse(body.data(), body.size());
  if (d.HasParseError()) d.SetNull();
  return d;
}

std::string Reply::reason() const {
  const auto d = json();
  if (!d.IsObject() || !d.HasMember("reason") || !d["reason"].IsString()) return {};
  return d["reason"].GetString();
}

std::string Reply::message() const {
  const auto d = json();
  if (!d.IsObject() || !d.HasMember("message") || !d["message"].IsString()) return {};
  return d["message"].GetString();
}

ApiHarness::ApiHarness() {
  controlplane::SqliteStoreOptions o;
  o.path = dir_.path() / "state.db";
  o.autoCompactInterval = std::chrono::milliseconds(0);
  store_ = controlplane::openSqliteStore(o);
  controlplane::ApiServerOptions options;
  options.store = store_.get();
  server_ = std::make_unique<controlplane::ApiServer>(options);
}

ApiHarness::~ApiHarness() {
  server_->shutdown();
  server_.reset();
  store_.reset();
}

Reply ApiHarness::call(const std::string& method, const std::string& target,
                       const std::string& body, const std::string& contentType,
                       const std::string& accept) {
  auto r = makeRequest(method, target, body, body.empty() && method == "GET" ? "" : contentType);
  if (!accept.empty()) r.headers.emplace_back("accept", accept);
  return call(std::move(r));
}

Reply ApiHarness::call(http::Request request) {
  auto responder = std::make_shared<FakeResponder>();
  server_->handle(request, responder);
  Reply reply;
  if (!responder->wait(kAnswerTimeout)) {
    ADD_FAILURE() << request.method << " " << request.target << ": no answer";
    return reply;
  }
  EXPECT_EQ(responder->answers(), 1) << request.method << " " << request.target;
  auto response = responder->response();
  reply.status = response.status;
  reply.headers = std::move(response.headers);
  reply.body = std::move(response.body);
  reply.stream = responder->stream();
  return reply;
}

std::string configMapJson(const std::string& name, const std::string& ns,
                          const std::string& extraMetadata) {
  std::string s = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")";
  s.append(name).append("\"");
  if (!ns.empty()) s.append(",\"namespace\":\"").append(ns).append("\"");
  if (!extraMetadata.empty()) s.append(",").append(extraMetadata);
  s.append(R"(},"data":{"k":"v"}})");
  return s;
}

}  // namespace kite::testing
