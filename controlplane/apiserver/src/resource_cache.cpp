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

ResourceCache::ResourceCache(Store& store, const ResourceType& type, std::size_t historyCapacity)
    : store_(store), type_(type), historyCapacity_(historyCapacity) {
  RangeRequest req;
  req.prefix = Repository::prefix(type.info(), "");
  RangeResult all = store_.range(req);
  for (const auto& kv : all.items) objects_[kv.key] = makeCachedObject(type_, kv);
  revision_ = all.revision;
  historyFloor_ = all.revision;
  WatchCallbacks callbacks;
  callbacks.onEvents = [this](const std::vector<WatchEvent>& events) { apply(events); };
  callbacks.onError = [this](const StoreError& e) {
    spdlog::warn("watch cache of {}: {}", type_.info().resource, e.what());
    std::lock_guard lock(mutex_);
    healthy_ = false;
    applied_.notify_all();
  };
  watch_ = store_.watch(req.prefix, all.revision, std::move(callbacks));
}

ResourceCache::~ResourceCache() { watch_.reset(); }

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

void ResourceCache::apply(const std::vector<WatchEvent>& events) {
  std::vector<CachedEvent> batch;
  batch.reserve(events.size());
  // Decode outside the lock; only this thread changes objects_.
  for (const auto& e : events) {
    CachedEvent ce;
    ce.revision = e.kv.modRevision;
    try {
      if (e.type == WatchEventType::kPut) ce.now = makeCachedObject(type_, e.kv);
    } catch (const std::exception& ex) {
      spdlog::warn("watch cache of {}: undecodable {}: {}", type_.info().resource, e.kv.key,
                   ex.what());
      continue;
    }
    batch.push_back(std::move(ce));
  }
  std::lock_guard lock(mutex_);
  std::size_t i = 0;
  for (const auto& e : events) {
    if (i >= batch.size() || batch[i].revision != e.kv.modRevision) continue;
    auto& ce = batch[i++];
    auto it = objects_.find(e.kv.key);
    if (it != objects_.end()) ce.before = it->second;
    if (ce.now) {
      objects_[e.kv.key] = ce.now;
    } else if (it != objects_.end()) {
      objects_.erase(it);
    }
    if (!ce.before && !ce.now) continue;
    history_.push_back(ce);
    while (history_.size() > historyCapacity_) {
      historyFloor_ = history_.front().revision;
      history_.pop_front();
    }
  }
  if (!events.empty()) revision_ = std::max(revision_, events.back().kv.modRevision);
  for (auto& [id, sink] : sinks_) sink(batch);
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

}  // namespace kite::controlplane::apiserver
