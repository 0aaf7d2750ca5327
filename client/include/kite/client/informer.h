#pragma once
// Informers: a local, thread-safe copy of one kind of object kept current by list-then-watch.
// The informer lists (in pages), then watches from the list's resourceVersion with bookmarks;
// when the watch ends it watches again from the last resourceVersion seen, and when that is
// too old (410 Gone) or the connection fails it lists again after a back-off. Handlers run on
// the informer's thread, in event order; a periodic resync replays every cached object to
// onUpdate.
//
//   client::Informer<core::v1::Pod> pods(c, "", {.fieldSelector = "spec.nodeName=n1"});
//   pods.addIndexer("node", [](const core::v1::Pod& p) {
//     return std::vector<std::string>{p.spec.nodeName}; });
//   pods.addEventHandler({.onAdd = [](const auto& pod) { ... }});
//   pods.start();
//   pods.waitForSync(std::chrono::seconds(30));
//   auto p = pods.cache().get("default", "web-0");

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kite/api/labels.h"
#include "kite/api/meta.h"
#include "kite/client/client.h"

namespace kite::client {

struct InformerOptions {
  std::string labelSelector{};
  std::string fieldSelector{};
  // Page size of the lists.
  std::int64_t pageSize = 500;
  // Every this often, onUpdate(obj, obj) for every cached object; zero: never.
  std::chrono::milliseconds resyncPeriod{0};
  // Back-off of re-lists after failures: doubles from initial up to max.
  std::chrono::milliseconds backoffInitial{800};
  std::chrono::milliseconds backoffMax{30'000};
  // The server ends each watch after a random time in [min, 2*min) seconds, as upstream's
  // reflector asks, so connections are spread over API servers now and then.
  std::int64_t watchTimeoutSeconds = 300;
};

// The list-watch loop over raw JSON; Informer<T> decodes and caches.
class InformerBase {
 public:
  InformerBase(Client& client, ResourceRef ref, std::string ns, InformerOptions options);
  virtual ~InformerBase();
  InformerBase(const InformerBase&) = delete;
  InformerBase& operator=(const InformerBase&) = delete;

  // Starts the list-watch thread. Add handlers and indexers before.
  void start();
  // Stops the thread (an open watch is cancelled); idempotent.
  void stop();
  // For informers with several users (shared_informers.h): each user acquires once when it
  // starts and releases once when it stops; the thread runs from the first acquire until the
  // last release.
  void acquire();
  void release();
  // The first list has been put into the cache.
  bool hasSynced() const;
  // Waits for hasSynced(); false when the timeout passed first or the informer stopped.
  bool waitForSync(std::chrono::milliseconds timeout) const;
  // The resourceVersion the informer is at.
  std::string lastSyncResourceVersion() const;
  // How many lists were made (1 after the first sync; more after re-lists).
  std::size_t listCount() const;

 protected:
  // A full list: the cache becomes exactly these objects.
  virtual void replace(const std::vector<std::string>& items) = 0;
  // One watch event (not Bookmark or Error); returns the object's resourceVersion.
  virtual std::string apply(EventType type, const std::string& object) = 0;
  virtual void resync() = 0;

 private:
  void run();
  // Lists, then watches until the watch fails or the informer stops. Returns whether the
  // failure calls for a back-off before the next list.
  bool listAndWatch();
  // Sleeps up to d; false when stopping.
  bool sleepFor(std::chrono::milliseconds d);
  void maybeResync();

  Client& client_;
  ResourceRef ref_;
  std::string namespace_;
  InformerOptions options_;

  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  bool stopping_ = false;
  int users_ = 0;  // acquire() minus release()
  bool synced_ = false;
  std::string resourceVersion_;
  std::size_t lists_ = 0;
  RawWatch* watch_ = nullptr;  // the open watch, to cancel it on stop()
  std::chrono::steady_clock::time_point nextResync_{};
  std::thread thread_;
};

// Index function: the index values of an object (e.g. its spec.nodeName).
template <class T>
using IndexFunc = std::function<std::vector<std::string>(const T&)>;

// The informer's cache: objects by "namespace/name", read-only for callers (shared pointers to
// immutable objects, so readers never copy under the lock).
template <class T>
class Cache {
 public:
  using Ptr = std::shared_ptr<const T>;

  Ptr get(std::string_view ns, std::string_view name) const {
    return getByKey(api::fullName(ns, name));
  }
  Ptr getByKey(const std::string& key) const {
    std::shared_lock lock(mutex_);
    const auto it = items_.find(key);
    return it == items_.end() ? nullptr : it->second;
  }
  // Objects of a namespace ("" for all) whose labels match the selector.
  std::vector<Ptr> list(std::string_view ns = {}, const api::labels::Selector& selector =
                                                      api::labels::Selector::everything()) const {
    std::shared_lock lock(mutex_);
    std::vector<Ptr> out;
    for (const auto& [key, obj] : items_) {
      if (!ns.empty() && obj->metadata.namespace_ != ns) continue;
      if (!selector.matches(obj->metadata.labels)) continue;
      out.push_back(obj);
    }
    return out;
  }
  std::vector<std::string> keys() const {
    std::shared_lock lock(mutex_);
    std::vector<std::string> out;
    out.reserve(items_.size());
    for (const auto& [key, obj] : items_) out.push_back(key);
    return out;
  }
  std::size_t size() const {
    std::shared_lock lock(mutex_);
    return items_.size();
  }
  // Objects whose index `indexName` holds `value`. Throws std::invalid_argument for an unknown
  // index.
  std::vector<Ptr> byIndex(const std::string& indexName, const std::string& value) const {
    std::shared_lock lock(mutex_);
    const auto idx = indices_.find(indexName);
    if (idx == indices_.end()) throw std::invalid_argument("no index named " + indexName);
    std::vector<Ptr> out;
    const auto values = idx->second.find(value);
    if (values == idx->second.end()) return out;
    for (const auto& key : values->second) out.push_back(items_.at(key));
    return out;
  }

  // ---- writes (the informer's) ----
  // An index name means one function: a second indexer of the same name (another user of a
  // shared informer, see shared_informers.h) keeps the first.
  void addIndexer(const std::string& name, IndexFunc<T> fn) {
    std::unique_lock lock(mutex_);
    if (indexers_.contains(name)) return;
    auto& index = indices_[name];
    for (const auto& [key, obj] : items_) {
      for (const auto& v : fn(*obj)) index[v].insert(key);
    }
    indexers_[name] = std::move(fn);
  }
  // Stores obj; returns the object it replaced, if any.
  Ptr put(Ptr obj) {
    const std::string key = api::fullName(obj->metadata);
    std::unique_lock lock(mutex_);
    Ptr old;
    if (auto it = items_.find(key); it != items_.end()) {
      old = it->second;
      unindex(key, *old);
    }
    items_[key] = obj;
    index(key, *obj);
    return old;
  }
  Ptr erase(const std::string& key) {
    std::unique_lock lock(mutex_);
    const auto it = items_.find(key);
    if (it == items_.end()) return nullptr;
    Ptr old = it->second;
    unindex(key, *old);
    items_.erase(it);
    return old;
  }

 private:
  void index(const std::string& key, const T& obj) {
    for (const auto& [name, fn] : indexers_) {
      for (const auto& v : fn(obj)) indices_[name][v].insert(key);
    }
  }
  void unindex(const std::string& key, const T& obj) {
    for (const auto& [name, fn] : indexers_) {
      auto& index = indices_[name];
      for (const auto& v : fn(obj)) {
        const auto it = index.find(v);
        if (it == index.end()) continue;
        it->second.erase(key);
        if (it->second.empty()) index.erase(it);
      }
    }
  }

  mutable std::shared_mutex mutex_;
  std::map<std::string, Ptr> items_;
  std::map<std::string, IndexFunc<T>> indexers_;
  std::map<std::string, std::map<std::string, std::set<std::string>>> indices_;
};

template <class T>
struct EventHandlers {
  std::function<void(const T&)> onAdd{};
  std::function<void(const T& oldObj, const T& newObj)> onUpdate{};
  // After a re-list, an object that vanished meanwhile is reported with its last known state.
  std::function<void(const T&)> onDelete{};
};

template <class T>
class Informer final : public InformerBase {
 public:
  // ns "" watches every namespace (and is the only choice for cluster-scoped kinds).
  Informer(Client& client, std::string ns = {}, InformerOptions options = {})
      : InformerBase(client, resourceOf<T>(), std::move(ns), std::move(options)) {}
  ~Informer() override { stop(); }
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void addEventHandler(EventHandlers<T> handlers) {
    std::lock_guard lock(handlersMutex_);
    handlers_.push_back(std::move(handlers));
  }
  void addIndexer(const std::string& name, IndexFunc<T> fn) {
    cache_.addIndexer(name, std::move(fn));
  }
  const Cache<T>& cache() const { return cache_; }

 protected:
  void replace(const std::vector<std::string>& items) override {
    std::set<std::string> seen;
    for (const auto& json : items) {
      auto obj = std::make_shared<const T>(Client::decodeObject<T>(json));
      const std::string key = api::fullName(obj->metadata);
      seen.insert(key);
      auto old = cache_.put(obj);
      if (!old) {
        notifyAdd(*obj);
      } else if (old->metadata.resourceVersion != obj->metadata.resourceVersion) {
        notifyUpdate(*old, *obj);
      }
    }
    for (const auto& key : cache_.keys()) {
      if (seen.contains(key)) continue;
      if (auto old = cache_.erase(key)) notifyDelete(*old);
    }
  }

  std::string apply(EventType type, const std::string& json) override {
    auto obj = std::make_shared<const T>(Client::decodeObject<T>(json));
    if (type == EventType::Deleted) {
      cache_.erase(api::fullName(obj->metadata));
      notifyDelete(*obj);
      return obj->metadata.resourceVersion;
    }
    auto old = cache_.put(obj);
    if (old) {
      notifyUpdate(*old, *obj);
    } else {
      notifyAdd(*obj);
    }
    return obj->metadata.resourceVersion;
  }

  void resync() override {
    for (const auto& obj : cache_.list()) notifyUpdate(*obj, *obj);
  }

 private:
  std::vector<EventHandlers<T>> handlersCopy() {
    std::lock_guard lock(handlersMutex_);
    return handlers_;
  }
  void notifyAdd(const T& obj) {
    for (const auto& h : handlersCopy()) {
      if (h.onAdd) h.onAdd(obj);
    }
  }
  void notifyUpdate(const T& oldObj, const T& newObj) {
    for (const auto& h : handlersCopy()) {
      if (h.onUpdate) h.onUpdate(oldObj, newObj);
    }
  }
  void notifyDelete(const T& obj) {
    for (const auto& h : handlersCopy()) {
      if (h.onDelete) h.onDelete(obj);
    }
  }

  Cache<T> cache_;
  std::mutex handlersMutex_;
  std::vector<EventHandlers<T>> handlers_;
};

}  // namespace kite::client
