#pragma once
// The watch cache of one resource: every object of the resource in memory (as its stored
// JSON plus the labels and field values selectors need), with a bounded history of recent
// events. Lists are served from it without touching the Store, and every watch of the
// resource is fed from it, each event decoded once however many clients watch (upstream's
// cacher). WatchCaches keeps all of them current from ONE Store watch on /registry/, so each
// cache knows it is current up to the newest revision of any write (a consistent list of a
// resource nobody wrote lately does not wait).

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
  // Loads the resource as of `revision`.
  ResourceCache(Store& store, const ResourceType& type, Revision revision,
                std::size_t historyCapacity = 1024);
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

  // From WatchCaches: this resource's events of a batch, and the batch's last revision
  // (the cache is current up to it even when none of the events are its own).
  void apply(const std::vector<const WatchEvent*>& events, Revision through);
  void fail();

 private:
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
};

// The caches of every stored resource, fed by one Store watch.
class WatchCaches {
 public:
  WatchCaches(Store& store, const std::vector<const ResourceType*>& types);
  ~WatchCaches();
  WatchCaches(const WatchCaches&) = delete;
  WatchCaches& operator=(const WatchCaches&) = delete;

  ResourceCache* find(const ResourceType* type) const;

 private:
  void dispatch(const std::vector<WatchEvent>& events);

  std::map<const ResourceType*, std::unique_ptr<ResourceCache>> byType_;
  std::map<std::string, ResourceCache*, std::less<>> byPrefix_;  // "/registry/core/pods/"
  std::unique_ptr<Watch> watch_;
};

}  // namespace kite::controlplane::apiserver
