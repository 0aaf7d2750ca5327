#pragma once
// What the server and its connections share: options, the handler, the worker pool and the
// set of open connections, HTTP/1.1 or HTTP/2 (so stop() can close them). Connections hold it by
// shared_ptr, so it outlives a connection that a late responder keeps alive after the server is
// gone.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "kite/http/server.h"
#include "worker_pool.h"

namespace kite::http::detail {

class ExchangeSink;

class ServerState {
 public:
  ServerState(ServerOptions options, Handler handler);

  const ServerOptions& options() const { return options_; }
  const Handler& handler() const { return handler_; }
  WorkerPool& pool() { return pool_; }

  std::uint64_t nextConnectionId() { return nextId_.fetch_add(1); }
  // Registers an accepted connection; false once stopping (the caller drops it).
  bool add(std::uint64_t id, const std::shared_ptr<ExchangeSink>& connection);
  // The connection `id` is now served by `successor` (HTTP/2 after the TLS handshake); false
  // once stopping (the caller closes it).
  bool replace(std::uint64_t id, const std::shared_ptr<ExchangeSink>& successor);
  void forget(std::uint64_t id);
  std::vector<std::shared_ptr<ExchangeSink>> snapshot();

  // From here on add() refuses and runIfRunning() does not run.
  void beginStop();
  bool stopping() const { return stopping_.load(); }
  // Runs `post` (which queues work on an io strand) unless stopping, atomically with
  // beginStop(): work queued before the stop is run by the io threads before they exit.
  template <typename Post>
  bool runIfRunning(Post&& post) {
    const std::lock_guard lock(mutex_);
    if (stopping_.load()) {
      return false;
    }
    post();
    return true;
  }

 private:
  const ServerOptions options_;
  const Handler handler_;
  std::atomic<std::uint64_t> nextId_{1};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::weak_ptr<ExchangeSink>> connections_;
  WorkerPool pool_;  // last: its threads start once everything above exists
};

}  // namespace kite::http::detail
