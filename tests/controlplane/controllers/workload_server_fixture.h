#pragma once
// The fixture of the workload controllers' server tests (workload_server_test.cpp,
// job_server_test.cpp, deployment_server_test.cpp, garbage_collector_server_test.cpp,
// controller_history_server_test.cpp, pod_gc_server_test.cpp): one real `kite server
// --disable-agent` (its own controllers off) for the suite, a fresh set of workload controllers for
// each test, and a namespace per test to keep the tests apart. No kubelet runs: the tests write pod
// status.

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/client/client.h"
#include "kite/controlplane/controllers/workloads.h"
#include "server_test_polling.h"
#include "test_server.h"

namespace kite::controlplane::controllers {

// What a suite may change, by hiding these members in a struct derived from this one.
struct WorkloadServerSuite {
  // The test's namespace is this, '-' and the test's name in lower case.
  static constexpr std::string_view kNamespacePrefix = "t";
  // How often eventually() looks, and how long it waits unless told otherwise.
  static constexpr std::chrono::milliseconds kPollInterval{50};
  static constexpr std::chrono::milliseconds kTimeout{15'000};
  static WorkloadControllerOptions options() { return {}; }
};

template <class Suite>
class WorkloadServerFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<client::testing::TestServer>();
    server_->start();
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    client_ = std::make_unique<client::Client>(server_->config());
    controllers_ = makeWorkloadControllers(*client_, Suite::options());
    for (auto& c : controllers_) c->start();
    ns_ = std::string(Suite::kNamespacePrefix) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (auto& ch : ns_) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    api::core::v1::Namespace n;
    n.metadata.name = ns_;
    client_->create(n);
  }
  void TearDown() override {
    for (auto& c : controllers_) c->stop();
  }

  // Polls until pred holds (true) or the timeout passes (false); an exception from pred fails
  // the test rather than being retried.
  static bool eventually(const std::function<bool()>& pred,
                         std::chrono::milliseconds timeout = Suite::kTimeout) {
    return server_test::pollUntil(pred, timeout, {.interval = Suite::kPollInterval});
  }

  // Get, change, update; again on a conflict (the controllers write the same objects).
  template <class T>
  T modify(const std::string& name, const std::function<void(T&)>& change) {
    for (int i = 0;; ++i) {
      T cur = client_->get<T>(ns_, name);
      change(cur);
      try {
        return client_->update(cur);
      } catch (const client::ApiError& e) {
        if (!e.isConflict() || i > 20) throw;
      }
    }
  }

  // Deletes name from the test's namespace with the given propagation policy, as kubectl
  // delete --cascade does.
  template <class T>
  void deleteWith(const std::string& name, const std::string& policy) {
    api::meta::v1::DeleteOptions options;
    options.propagationPolicy = policy;
    client_->remove<T>(ns_, name, options);
  }

  static inline std::unique_ptr<client::testing::TestServer> server_;
  std::unique_ptr<client::Client> client_;
  std::vector<std::unique_ptr<Controller>> controllers_;
  std::string ns_;
};

}  // namespace kite::controlplane::controllers
