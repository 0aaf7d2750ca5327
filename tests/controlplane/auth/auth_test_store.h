#pragma once
// A SQLite store in a temporary directory, with helpers to write Kubernetes objects under
// their registry keys, and a poll helper that waits for a condition (a cache catching up
// with a watch) without asserting anything about time.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "kite/api/json.h"
#include "kite/controlplane/sqlite_store.h"

namespace kite::controlplane::testing {

class TempStore {
 public:
  TempStore() {
    dir_ = std::filesystem::temp_directory_path() /
           ("kite-auth-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(dir_);
    SqliteStoreOptions options;
    options.path = dir_ / "state.db";
    options.autoCompactInterval = std::chrono::milliseconds(0);
    store_ = openSqliteStore(options);
  }
  ~TempStore() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;

  Store& store() { return *store_; }

  // Writes (creates or replaces) the object's JSON at key.
  void put(const std::string& key, const std::string& json) {
    if (auto current = store_->get(key)) {
      ASSERT_TRUE(store_->update(key, json, current->modRevision).succeeded) << key;
    } else {
      ASSERT_TRUE(store_->create(key, json).succeeded) << key;
    }
  }
  template <class T>
  void putObject(const std::string& key, const T& object) {
    put(key, api::encodeJson(object));
  }
  void remove(const std::string& key) { ASSERT_TRUE(store_->remove(key, 0).succeeded) << key; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

// Polls until condition() holds; false if it still does not after a generous bound (a test
// failure, not a timing assertion: a correct cache gets there in milliseconds).
inline bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace kite::controlplane::testing
