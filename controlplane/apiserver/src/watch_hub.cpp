#include "watch_hub.h"

#include "api_error.h"
#include "repository.h"
#include "stored_json.h"

namespace kite::controlplane::apiserver {

struct WatchHub::Active {
  WatchSpec spec;
  std::shared_ptr<http::Stream> stream;
  ResourceCache* cache = nullptr;
  std::uint64_t subscription = 0;     // in cache
  std::unique_ptr<Watch> storeWatch;  // or a Store watch of its own
  std::chrono::steady_clock::time_point deadline;
  std::chrono::steady_clock::time_point nextBookmark;
  std::mutex mutex;  // orders writes to the stream, guards lastRevision
  Revision lastRevision = 0;
  bool sentColumns = false;

  bool selected(const CachedObject& o) const {
    return o.key.compare(0, spec.prefix.size(), spec.prefix) == 0 &&
           spec.labels.matches(o.labels) && spec.fields.matches(o.fields);
  }

  std::string render(std::string_view type, const CachedObject& o, Revision rv) {
    if (spec.representation == Representation::kObject) {
      return watchEventLine(type, withResourceVersion(o.json, rv));
    }
    auto object = spec.type->decode(o.json, {});
    object->meta().resourceVersion = std::to_string(rv);
    if (spec.representation == Representation::kTable) {
      const bool columns = !sentColumns;
      sentColumns = true;
      return watchEventLine(type,
                            tableJson(*spec.type, {object.get()}, rv, {}, spec.include, columns));
    }
    return watchEventLine(type, partialMetadataJson(spec.type->info(), *object));
  }

  // Callers hold `mutex`.
  void sendInitial(const std::vector<CachedObjectPtr>& items, Revision rv) {
    for (const auto& o : items) {
      if (selected(*o)) stream->write(render("ADDED", *o, o->revision));
    }
    lastRevision = rv;
  }

  void deliver(const std::vector<CachedEvent>& events) {
    std::lock_guard lock(mutex);
    for (const auto& e : events) {
      if (e.revision <= lastRevision) continue;
      lastRevision = e.revision;
      const bool nowIn = e.now && selected(*e.now);
      const bool wasIn = e.before && selected(*e.before);
      std::string line;
      if (nowIn) {
        line = render(wasIn ? "MODIFIED" : "ADDED", *e.now, e.revision);
      } else if (wasIn) {
        // Deleted, or moved out of the selection: the last state, at this revision.
        line = render("DELETED", e.now ? *e.now : *e.before, e.revision);
      } else {
        continue;
      }
      if (!stream->write(std::move(line))) return;
    }
  }

  void bookmark() {
    std::lock_guard lock(mutex);
    const std::string rv = std::to_string(lastRevision);
    std::string obj = "{\"kind\":\"" + spec.type->info().kind + "\",\"apiVersion\":\"" +
                      spec.type->info().groupVersion() + "\",\"metadata\":{\"resourceVersion\":\"" +
                      rv + "\"}}";
    stream->write(watchEventLine("BOOKMARK", obj));
  }

  void detach() {
    if (subscription != 0 && cache != nullptr) cache->unsubscribe(subscription);
    subscription = 0;
    storeWatch.reset();
  }
};

WatchHub::WatchHub(Store& store) : store_(store), timer_([this] { timerLoop(); }) {}

WatchHub::~WatchHub() {
  closeAll();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  timer_.join();
  for (auto& a : graveyard_) a->detach();
  for (auto& [id, a] : watches_) a->detach();
}

void WatchHub::startFromStore(const std::shared_ptr<Active>& active) {
  Revision after = active->spec.after;
  if (active->spec.sendInitialState) {
    RangeRequest req;
    req.prefix = active->spec.prefix;
    RangeResult snapshot = store_.range(req);
    std::vector<CachedObjectPtr> items;
    items.reserve(snapshot.items.size());
    for (const auto& kv : snapshot.items) items.push_back(makeCachedObject(*active->spec.type, kv));
    std::lock_guard lock(active->mutex);
    active->sendInitial(items, snapshot.revision);
    after = snapshot.revision;
  } else {
    std::lock_guard lock(active->mutex);
    active->lastRevision = after;
  }
  std::weak_ptr<Active> weak = active;
  WatchCallbacks callbacks;
  callbacks.onEvents = [weak](const std::vector<WatchEvent>& events) {
    auto a = weak.lock();
    if (!a) return;
    std::vector<CachedEvent> converted;
    converted.reserve(events.size());
    for (const auto& e : events) {
      CachedEvent ce;
      ce.revision = e.kv.modRevision;
      try {
        if (e.type == WatchEventType::kPut) ce.now = makeCachedObject(*a->spec.type, e.kv);
        if (e.prev) ce.before = makeCachedObject(*a->spec.type, *e.prev);
      } catch (const std::exception&) {
        continue;
      }
      converted.push_back(std::move(ce));
    }
    a->deliver(converted);
  };
  callbacks.onError = [weak](const StoreError& e) {
    if (auto a = weak.lock()) {
      if (e.code() == StoreErrorCode::kCompacted) {
        auto status = ApiError::gone(std::string("too old resource version: ") + e.what());
        a->stream->write(watchEventLine("ERROR", api::encodeJson(status.status())));
      }
      a->stream->close();
    }
  };
  try {
    active->storeWatch = store_.watch(active->spec.prefix, after, std::move(callbacks));
  } catch (const StoreError& e) {
    if (e.code() != StoreErrorCode::kCompacted) throw;
    // The watch already started streaming: report 410 as an ERROR event, as upstream does.
    auto status = ApiError::gone("too old resource version: " + std::to_string(after));
    active->stream->write(watchEventLine("ERROR", api::encodeJson(status.status())));
    active->stream->close();
  }
}

void WatchHub::start(WatchSpec spec, const std::shared_ptr<http::Stream>& stream,
                     ResourceCache* cache) {
  auto active = std::make_shared<Active>();
  active->spec = std::move(spec);
  active->stream = stream;
  active->cache = cache;
  const auto now = std::chrono::steady_clock::now();
  active->deadline = now + active->spec.timeout;
  active->nextBookmark = now + std::chrono::seconds(60);

  if (cache != nullptr) {
    std::weak_ptr<Active> weak = active;
    active->subscription = cache->subscribe(
        active->spec.sendInitialState, active->spec.after, active->spec.prefix,
        [&](const std::vector<CachedObjectPtr>& items, Revision rv) {
          std::lock_guard lock(active->mutex);
          active->sendInitial(items, rv);
        },
        [weak](const std::vector<CachedEvent>& events) {
          if (auto a = weak.lock()) a->deliver(events);
        });
    if (active->subscription != 0 && !active->spec.sendInitialState) {
      std::lock_guard lock(active->mutex);
      if (active->lastRevision < active->spec.after) active->lastRevision = active->spec.after;
    }
  }
  if (active->subscription == 0) startFromStore(active);

  std::uint64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    id = nextId_++;
    watches_[id] = active;
  }
  stream->onClose([this, id] {
    // Detached on the timer thread: a Store watch's destructor waits for a running callback,
    // which may be the very one whose write closed this stream.
    std::lock_guard lock(mutex_);
    auto it = watches_.find(id);
    if (it == watches_.end()) return;
    graveyard_.push_back(std::move(it->second));
    watches_.erase(it);
    wake_.notify_all();
  });
}

void WatchHub::closeAll() {
  std::map<std::uint64_t, std::shared_ptr<Active>> all;
  {
    std::lock_guard lock(mutex_);
    all = watches_;
  }
  for (auto& [id, a] : all) a->stream->close();
}

std::size_t WatchHub::active() {
  std::lock_guard lock(mutex_);
  return watches_.size();
}

void WatchHub::timerLoop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::seconds(1));
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<Active>> expired;
    std::vector<std::shared_ptr<Active>> bookmarks;
    for (auto& [id, a] : watches_) {
      if (now >= a->deadline) {
        expired.push_back(a);
      } else if (a->spec.bookmarks && now >= a->nextBookmark) {
        a->nextBookmark = now + std::chrono::seconds(60);
        bookmarks.push_back(a);
      }
    }
    std::vector<std::shared_ptr<Active>> dead = std::move(graveyard_);
    graveyard_.clear();
    lock.unlock();
    for (auto& a : dead) a->detach();
    dead.clear();
    for (auto& a : bookmarks) a->bookmark();
    for (auto& a : expired) a->stream->close();
    lock.lock();
  }
}

}  // namespace kite::controlplane::apiserver
