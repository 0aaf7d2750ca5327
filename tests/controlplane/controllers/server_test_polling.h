#pragma once
// The one polling loop of the controllers' server tests (cluster_server_fixture.h,
// workload_server_fixture.h): the controllers act asynchronously, so the tests wait for what
// they assert. The suites differ only in how often they look and in whether a check that
// throws (say, a NotFound) counts as "not yet" or fails the test.

#include <chrono>
#include <exception>
#include <functional>
#include <thread>

namespace kite::controlplane::controllers::server_test {

struct Polling {
  std::chrono::milliseconds interval{50};
  // When false an exception from the check propagates, so a test sees it at once.
  bool throwsMeanNotYet = false;
};

// Checks until check returns true (true) or the timeout passes (false). The deadline is read
// before each check, so the last check starts at or after it: the whole timeout is waited.
inline bool pollUntil(const std::function<bool()>& check, std::chrono::milliseconds timeout,
                      Polling polling) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const bool last = std::chrono::steady_clock::now() >= deadline;
    if (polling.throwsMeanNotYet) {
      try {
        if (check()) return true;
      } catch (const std::exception&) {
        // not there yet
      }
    } else if (check()) {
      return true;
    }
    if (last) return false;
    std::this_thread::sleep_for(polling.interval);
  }
}

}  // namespace kite::controlplane::controllers::server_test
