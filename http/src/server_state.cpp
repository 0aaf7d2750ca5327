#include "server_state.h"

#include "exchange_sink.h"

namespace kite::http::detail {

ServerState::ServerState(ServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)), pool_(options_.workerThreads) {}

bool ServerState::add(std::uint64_t id, const std::shared_ptr<ExchangeSink>& connection) {
  const std::lock_guard lock(mutex_);
  if (stopping_.load()) {
    return false;
  }
  connections_.emplace(id, connection);
  return true;
}

bool ServerState::replace(std::uint64_t id, const std::shared_ptr<ExchangeSink>& successor) {
  const std::lock_guard lock(mutex_);
  if (stopping_.load()) {
    return false;
  }
  connections_.insert_or_assign(id, successor);
  return true;
}

void ServerState::forget(std::uint64_t id) {
  const std::lock_guard lock(mutex_);
  connections_.erase(id);
}

std::vector<std::shared_ptr<ExchangeSink>> ServerState::snapshot() {
  std::vector<std::shared_ptr<ExchangeSink>> open;
  const std::lock_guard lock(mutex_);
  open.reserve(connections_.size());
  for (const auto& [id, weak] : connections_) {
    if (auto connection = weak.lock()) {
      open.push_back(std::move(connection));
    }
  }
  return open;
}

void ServerState::beginStop() {
  const std::lock_guard lock(mutex_);
  stopping_.store(true);
}

}  // namespace kite::http::detail
