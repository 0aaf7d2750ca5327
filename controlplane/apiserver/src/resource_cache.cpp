#include "resource_cache.h"

#include <spdlog/spdlog.h>

#include "repository.h"

namespace kite::controlplane::apiserver {

CachedObjectPtr makeCachedObject(const ResourceType& type, const KeyValue& kv) {
  auto object = type.decode(kv.value, {});
  auto c = std::make_shared<CachedObject>();
  c->key = kv.key;
  c->json = kv.value;
  c->revision = kv.modRevision;
  c->labels = object->meta().labels;
  c->fields = type.fieldValues(*object);
  return c;
}

ResourceCache::ResourceCache(Store& store, const ResourceType& type, Revision revision,
                             std::size_t historyCapacity)
    : store_(store), type_(type), historyCapacity_(historyCapacity) {
  RangeRequest req;
  req.prefix = Repository::prefix(type.info(), "");
  req.revision = revision;
  RangeResult all = store_.range(req);
  for (const auto& kv : all.items) objects_[kv.key] = makeCachedObject(type_, kv);
  revision_ = revision;
  historyFloor_ = revision;
}

ResourceCache::~ResourceCache() = default;

void ResourceCache::fail() {
  std::lock_guard lock(mutex_);
  healthy_ = false;
  applied_.notify_all();
}

bool ResourceCache::healthy() {
  std::lock_guard lock(mutex_);
  return healthy_;
}

Revision ResourceCache::revision() {
  std::lock_guard lock(mutex_);
  return revision_;
}

bool ResourceCache::waitFor(Revision revision, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  applied_.wait_for(lock, timeout, [&] { return !healthy_ || revision_ >= revision; });
  return healthy_ && revision_ >= revision;
}

void ResourceCache::apply(const std::vector<const WatchEvent*>& events, Revision through) {
  std::vector<CachedEvent> batch;
  std::vector<const WatchEvent*> sources;
  batch.reserve(events.size());
  // Decode outside the lock; only the feeding thread changes objects_.
  for (const WatchEvent* e : events) {
    CachedEvent ce;
    ce.revision = e->kv.modRevision;
    try {
      if (e->type == WatchEventType::kPut) ce.now = makeCachedObject(type_, e->kv);
    } catch (const std::exception& ex) {
      spdlog::warn("watch cache of {}: undecodable {}: {}", type_.info().resource, e->kv.key,
                   ex.what());
      continue;
    }
    batch.push_back(std::move(ce));
    sources.push_back(e);
  }
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto& ce = batch[i];
    const auto& key = sources[i]->kv.key;
    auto it = objects_.find(key);
    if (it != objects_.end()) ce.before = it->second;
    if (ce.now) {
      objects_[key] = ce.now;
    } else if (it != objects_.end()) {
      objects_.erase(it);
    }
    history_.push_back(ce);
    while (history_.size() > historyCapacity_) {
      historyFloor_ = history_.front().revision;
      history_.pop_front();
    }
  }
  revision_ = std::max(revision_, through);
  if (!batch.empty()) {
    for (auto& [id, sink] : sinks_) sink(batch);
  }
  applied_.notify_all();
}

ResourceCache::Page ResourceCache::list(const std::string& prefix, const Filter& filter,
                                        std::int64_t limit) {
  std::lock_guard lock(mutex_);
  Page page;
  page.revision = revision_;
  page.items.reserve(limit > 0
                         ? std::min<std::size_t>(static_cast<std::size_t>(limit), objects_.size())
                         : objects_.size());
  for (auto it = objects_.lower_bound(prefix); it != objects_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    if (filter && !filter(*it->second)) continue;
    if (limit > 0 && static_cast<std::int64_t>(page.items.size()) == limit) {
      page.more = true;
      if (!filter) {
        std::int64_t rest = 0;
        for (; it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
          ++rest;
        }
        page.remaining = rest;
      }
      break;
    }
    page.items.push_back(it->second);
  }
  return page;
}

std::uint64_t ResourceCache::subscribe(
    bool initialState, Revision after, const std::string& prefix,
    const std::function<void(const std::vector<CachedObjectPtr>&, Revision)>& snapshot,
    CacheSink sink) {
  std::lock_guard lock(mutex_);
  if (!healthy_) return 0;
  if (initialState) {
    std::vector<CachedObjectPtr> items;
    for (auto it = objects_.lower_bound(prefix); it != objects_.end(); ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      items.push_back(it->second);
    }
    snapshot(items, revision_);
  } else {
    if (after < historyFloor_ || after > revision_) return 0;
    std::vector<CachedEvent> replay;
    for (const auto& e : history_) {
      if (e.revision > after) replay.push_back(e);
    }
    if (!replay.empty()) sink(replay);
  }
  const std::uint64_t id = nextId_++;
  sinks_.emplace(id, std::move(sink));
  return id;
}

void ResourceCache::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  sinks_.erase(id);
}

WatchCaches::WatchCaches(Store& store, const std::vector<const ResourceType*>& types) {
  const Revision start = store.currentRevision();
  for (const ResourceType* type : types) {
    auto cache = std::make_unique<ResourceCache>(store, *type, start);
    byPrefix_[Repository::prefix(type->info(), "")] = cache.get();
    byType_[type] = std::move(cache);
  }
  WatchCallbacks callbacks;
  callbacks.onEvents = [this](const std::vector<WatchEvent>& events) { dispatch(events); };
  callbacks.onError = [this](const StoreError& e) {
    spdlog::warn("watch caches stop: {}", e.what());
    for (auto& [type, cache] : byType_) cache->fail();
  };
  watch_ = store.watch("/registry/", start, std::move(callbacks));
}

WatchCaches::~WatchCaches() { watch_.reset(); }

ResourceCache* WatchCaches::find(const ResourceType* type) const {
  auto it = byType_.find(type);
  return it == byType_.end() ? nullptr : it->second.get();
}

void WatchCaches::dispatch(const std::vector<WatchEvent>& events) {
  if (events.empty()) return;
  std::map<ResourceCache*, std::vector<const WatchEvent*>> mine;
  for (const auto& e : events) {
    // "/registry/<group>/<resource>/..." → its resource prefix.
    const auto& key = e.kv.key;
    std::size_t slash = key.find('/', std::string_view("/registry/").size());
    if (slash != std::string::npos) slash = key.find('/', slash + 1);
    if (slash == std::string::npos) continue;
    auto it = byPrefix_.find(std::string_view(key).substr(0, slash + 1));
    if (it != byPrefix_.end()) mine[it->second].push_back(&e);
  }
  const Revision through = events.back().kv.modRevision;
  for (auto& [type, cache] : byType_) {
    auto it = mine.find(cache.get());
    cache->apply(it == mine.end() ? std::vector<const WatchEvent*>{} : it->second, through);
  }
}

}  // namespace kite::controlplane::apiserver
