#pragma once
// One Store watch over etcd's Watch stream, on a thread of its own. The stream asks for
// prev_kv and starts at the revision after the last one delivered, so when its member goes
// away the watch is opened again on another member without losing or repeating an event.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "etcd_client.h"
#include "kite/controlplane/store.h"

namespace kite::controlplane::etcd {

struct WatchTarget {
  std::string key;               // first etcd key of the range (the store's prefix included)
  std::string rangeEnd;          // etcd's range_end
  std::size_t prefixLength = 0;  // the store's key prefix, stripped from delivered keys
};

class EtcdWatch final : public Watch {
 public:
  EtcdWatch(std::shared_ptr<Client> client, WatchTarget target, Revision startRevision,
            WatchCallbacks callbacks, std::chrono::milliseconds retryTimeout);
  ~EtcdWatch() override;
  EtcdWatch(const EtcdWatch&) = delete;
  EtcdWatch& operator=(const EtcdWatch&) = delete;
  EtcdWatch(EtcdWatch&&) = delete;
  EtcdWatch& operator=(EtcdWatch&&) = delete;

 private:
  // How one stream ended.
  enum class StreamEnd { kStopped, kFailed, kRetry };

  void run();
  // Runs one stream against member `index` until it ends; fills `failure` when it failed.
  StreamEnd runStream(std::size_t index, std::string& failure, StoreErrorCode& failureCode,
                      bool& healthy);
  void deliver(const etcdserverpb::WatchResponse& response);
  // Waits `delay` unless the watch is being cancelled; returns false when it is.
  bool pause(std::chrono::milliseconds delay);

  std::shared_ptr<Client> client_;
  WatchTarget target_;
  Revision nextRevision_;  // the first revision not delivered yet
  WatchCallbacks callbacks_;
  std::chrono::milliseconds retryTimeout_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  grpc::ClientContext* active_ = nullptr;  // the open stream's context, for cancelling it

  std::thread thread_;  // last: starts once everything above is ready
};

}  // namespace kite::controlplane::etcd
