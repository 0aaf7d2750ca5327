#pragma once
// Watches: a watch request is served from its resource's watch cache (ResourceCache: one
// Store watch per resource, each event decoded once for all clients), or, when it asks for
// a revision older than the cache's history, from a Store watch of its own. Events are
// filtered (namespace, label and field selectors, with upstream's ADDED/DELETED when an
// object moves into or out of the selection), rendered in the client's representation and
// queued on the client's stream. A timer thread ends watches at their timeoutSeconds and
// sends BOOKMARK events to clients that allow them.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "field_selector.h"
#include "kite/api/labels.h"
#include "kite/controlplane/store.h"
#include "kite/http/server.h"
#include "negotiation.h"
#include "resource_cache.h"
#include "resource_type.h"
#include "responses.h"

namespace kite::controlplane::apiserver {

struct WatchSpec {
  const ResourceType* type = nullptr;
  std::string prefix;  // store key prefix (resource and namespace)
  api::labels::Selector labels;
  FieldSelector fields;
  Revision after = 0;             // deliver events with revision > after
  bool sendInitialState = false;  // ADDED for every current object first (rv unset or "0")
  bool bookmarks = false;
  std::chrono::seconds timeout{1800};
  Representation representation = Representation::kObject;
  IncludeObject include = IncludeObject::kMetadata;
};

class WatchHub {
 public:
  explicit WatchHub(Store& store);
  ~WatchHub();
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Starts serving the watch on the stream, from the cache when it has one and can.
  void start(WatchSpec spec, const std::shared_ptr<http::Stream>& stream, ResourceCache* cache);
  // Closes every watch (server shutdown).
  void closeAll();
  std::size_t active();

 private:
  struct Active;
  void timerLoop();
  void startFromStore(const std::shared_ptr<Active>& active);

  Store& store_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::uint64_t nextId_ = 1;
  std::map<std::uint64_t, std::shared_ptr<Active>> watches_;
  std::vector<std::shared_ptr<Active>> graveyard_;  // closed, not yet detached
  std::thread timer_;
};

}  // namespace kite::controlplane::apiserver
