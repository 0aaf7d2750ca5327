#pragma once
// A kite ApiServer over a SQLite store in a temporary directory, driven through
// ApiServer::handle with the fake responder (no network, no authentication).

#include <rapidjson/document.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "fakes/fake_http.h"
#include "kite/controlplane/apiserver.h"
#include "kite/controlplane/sqlite_store.h"

namespace kite::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct Reply {
  int status = 0;
  http::Headers headers;
  std::string body;
  std::shared_ptr<FakeStream> stream;  // set for watches

  std::string header(std::string_view name) const;
  // The body parsed as JSON (an empty document when it is not JSON).
  rapidjson::Document json() const;
  // For a Status body: its reason and message ("" when absent).
  std::string reason() const;
  std::string message() const;
};

class ApiHarness {
 public:
  ApiHarness();
  ~ApiHarness();
  ApiHarness(const ApiHarness&) = delete;
  ApiHarness& operator=(const ApiHarness&) = delete;

  // Calls handle() and waits (bounded, so a hang fails instead of blocking) for the answer.
  Reply call(const std::string& method, const std::string& target, const std::string& body = {},
             const std::string& contentType = "application/json",
             const std::string& accept = "application/json");
  Reply call(http::Request request);

  controlplane::Store& store() { return *store_; }
  controlplane::ApiServer& server() { return *server_; }

  static constexpr std::chrono::seconds kAnswerTimeout{20};

 private:
  TempDir dir_;
  std::unique_ptr<controlplane::Store> store_;
  std::unique_ptr<controlplane::ApiServer> server_;
};

// A ConfigMap JSON body.
std::string configMapJson(const std::string& name, const std::string& ns = {},
                          const std::string& extraMetadata = {});

}  // namespace kite::testing
