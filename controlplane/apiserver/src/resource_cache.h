#pragma once
// The watch cache of one resource: every object of the resource in memory (as its stored
// JSON plus the labels and field values selectors need), kept current by one Store watch,
// with a bounded history of recent events. Lists are served from it without touching the
// Store, and every watch of the resource is fed from its single Store watch, each event
// decoded once however many clients watch (upstream's cacher).

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kite/api/labels.h"
#include "kite/controlplane/store.h"
#include "resource_type.h"

namespace kite::controlplane::apiserver {

struct CachedObject {
  std::string key;
  std::string json;  // stored form, without resourceVersion
  Revision revision = 0;
  api::labels::Set labels;
  FieldValues fields;
};
using CachedObjectPtr = std::shared_ptr<const CachedObject>;

// Decodes a stored value once into what selectors need.
CachedObjectPtr makeCachedObject(const ResourceType& type, const KeyValue& kv);

struct CachedEvent {
  Revision revision = 0;
  CachedObjectPtr now;     // nullptr: deleted
  CachedObjectPtr before;  // nullptr: created
};

// Receives a subscription's events in revision order, on the cache's thread (the Store's
// watch thread); must not block.
using CacheSink = std::function<void(const std::vector<CachedEvent>&)>;

class ResourceCache {
 public:
  ResourceCache(Store& store, const ResourceType& type, std::size_t historyCapacity = 1024);
  ~ResourceCache();
  ResourceCache(const ResourceCache&) = delete;
  ResourceCache& operator=(const ResourceCache&) = delete;

  const ResourceType& type() const { return type_; }
  // False when the cache lost its Store watch (then callers use the Store directly).
  bool healthy();
  Revision revision();
  // Waits until the cache has applied `revision`; false on timeout or when unhealthy.
  bool waitFor(Revision revision, std::chrono::milliseconds timeout);

  struct Page {
    std::vector<CachedObjectPtr> items;
    Revision revision = 0;
    bool more = false;  // further matching objects exist
    // How many more, when there is no filter (upstream's remainingItemCount).
    std::optional<std::int64_t> remaining;
  };
  using Filter = std::function<bool(const CachedObject&)>;
  // Objects whose key starts with prefix and passes filter, in key order, at most limit
  // (0: all).
  Page list(const std::string& prefix, const Filter& filter, std::int64_t limit);

  // Subscribes. With initialState, `snapshot` receives the current objects (prefix-scoped
  // by the caller's filter) and the revision they are at, and events after it follow; else
  // history events after `after` are replayed first. Returns 0 when `after` is older than the
  // history (the caller falls back to a Store watch), else a subscription id.
  std::uint64_t subscribe(
      bool initialState, Revision after, const std::string& prefix,
      const std::function<void(const std::vector<CachedObjectPtr>&, Revision)>& snapshot,
      CacheSink sink);
  void unsubscribe(std::uint64_t id);

 private:
  void apply(const std::vector<WatchEvent>& events);

  Store& store_;
  const ResourceType& type_;
  std::size_t historyCapacity_;
  std::mutex mutex_;
  std::condition_variable applied_;
  std::map<std::string, CachedObjectPtr> objects_;
  std::deque<CachedEvent> history_;
  Revision revision_ = 0;
  Revision historyFloor_ = 0;  // history covers revisions > historyFloor_
  bool healthy_ = true;
  std::uint64_t nextId_ = 1;
  std::map<std::uint64_t, CacheSink> sinks_;
  std::unique_ptr<Watch> watch_;
};

}  // namespace kite::controlplane::apiserver
