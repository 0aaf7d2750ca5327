#pragma once
// Writes the kubelet's view of its API pods to pods/status, as upstream's
// status manager: asynchronously on its own thread, coalescing per pod (only
// the newest status of a pod is written), only when it differs from the last
// one written, and on a conflict again over a fresh GET. Once a pod is stopped
// for deletion it writes the final status and deletes the object for good
// (gracePeriodSeconds 0, precondition on the uid).

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "kite/api/core/v1/types.h"
#include "kite/client/client.h"

namespace kite::kubelet {

class StatusManager {
 public:
  explicit StatusManager(client::Client& client,
                         std::chrono::milliseconds retryDelay = std::chrono::seconds(1));
  ~StatusManager();
  StatusManager(const StatusManager&) = delete;
  StatusManager& operator=(const StatusManager&) = delete;

  void start();
  void stop();

  // The pod with the kubelet's newest status for it.
  void setStatus(const api::core::v1::Pod& pod);
  // The pod is stopped and removed from the node: final status, then DELETE.
  void terminated(const api::core::v1::Pod& pod);
  // Blocks until nothing is pending (tests).
  void waitIdle();
  // How many status writes reached the API server (tests).
  std::size_t writes() const;

 private:
  struct Pending {
    api::core::v1::Pod pod;
    bool remove = false;
  };
  void run(const std::stop_token& stop);
  // Returns false when the work must be retried later.
  bool process(const Pending& work);
  bool writeStatus(const api::core::v1::Pod& pod);
  bool deletePod(const api::core::v1::Pod& pod);
  // True when the pod no longer exists under its uid (deleted, or replaced by a namesake).
  bool gone(const api::core::v1::Pod& pod);

  client::Client& client_;
  std::chrono::milliseconds retryDelay_;
  mutable std::mutex mutex_;
  std::condition_variable_any wake_;
  std::condition_variable idle_;
  std::map<std::string, Pending> pending_;  // by uid
  // Failed writes, retried after retryDelay_ once pending_ is drained, so one pod the API keeps
  // refusing does not hold back the others.
  std::map<std::string, Pending> retry_;
  std::map<std::string, std::string> written_;  // uid -> the status last written (JSON)
  std::set<std::string> deleted_;               // uids deleted for good
  bool busy_ = false;
  std::size_t writes_ = 0;
  std::jthread thread_;
};

// The status as compared between writes: timestamps that change without the
// status changing (probe times) left out.
std::string comparableStatus(const api::core::v1::PodStatus& status);

}  // namespace kite::kubelet
