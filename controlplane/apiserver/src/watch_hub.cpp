#include "watch_hub.h"

#include <vector>

#include "api_error.h"
#include "repository.h"
#include "stored_json.h"

namespace kite::controlplane::apiserver {

struct WatchHub::Active {
  WatchSpec spec;
  std::shared_ptr<http::Stream> stream;
  std::unique_ptr<Watch> storeWatch;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::steady_clock::time_point nextBookmark;
  std::mutex mutex;  // orders writes to the stream, guards lastRevision
  Revision lastRevision = 0;
  bool sentColumns = false;

  bool selected(const ApiObject& o) const {
    return spec.labels.matches(o.meta().labels) && spec.fields.matches(*spec.type, o);
  }

  std::string render(std::string_view type, const std::string& storedJson, const ApiObject& o,
                     Revision rv) {
    switch (spec.representation) {
      case Representation::kTable: {
        auto copy = o.clone();
        copy->meta().resourceVersion = std::to_string(rv);
        const bool columns = !sentColumns;
        sentColumns = true;
        return watchEventLine(type,
                              tableJson(*spec.type, {copy.get()}, rv, {}, spec.include, columns));
      }
      case Representation::kPartialMetadata: {
        auto copy = o.clone();
        copy->meta().resourceVersion = std::to_string(rv);
        return watchEventLine(type, partialMetadataJson(spec.type->info(), *copy));
      }
      case Representation::kObject:
        break;
    }
    return watchEventLine(type, withResourceVersion(storedJson, rv));
  }

  void deliver(const std::vector<WatchEvent>& events) {
    std::lock_guard lock(mutex);
    for (const auto& e : events) {
      if (e.kv.modRevision <= lastRevision) continue;
      lastRevision = e.kv.modRevision;
      std::unique_ptr<ApiObject> now;
      std::unique_ptr<ApiObject> before;
      try {
        if (e.type == WatchEventType::kPut) {
          now = spec.type->decode(e.kv.value, {});
        }
        if (e.prev) before = spec.type->decode(e.prev->value, {});
      } catch (const std::exception&) {
        continue;  // not an object of this kind (cannot happen for keys we wrote)
      }
      const bool nowIn = now && selected(*now);
      const bool wasIn = before && selected(*before);
      std::string line;
      if (nowIn && wasIn) {
        line = render("MODIFIED", e.kv.value, *now, e.kv.modRevision);
      } else if (nowIn) {
        line = render("ADDED", e.kv.value, *now, e.kv.modRevision);
      } else if (wasIn) {
        // Deleted, or moved out of the selection: the last state, at this revision.
        line = render("DELETED", now ? e.kv.value : e.prev->value, now ? *now : *before,
                      e.kv.modRevision);
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
  for (auto& a : graveyard_) a->storeWatch.reset();
  for (auto& [id, a] : watches_) a->storeWatch.reset();
}

void WatchHub::start(WatchSpec spec, std::shared_ptr<http::Stream> stream) {
  auto active = std::make_shared<Active>();
  active->spec = std::move(spec);
  active->stream = stream;
  const auto now = std::chrono::steady_clock::now();
  active->deadline = now + active->spec.timeout;
  active->nextBookmark = now + std::chrono::seconds(60);

  Revision after = active->spec.after;
  if (active->spec.sendInitialState) {
    // The current state as ADDED events, then changes after it.
    RangeRequest req;
    req.prefix = active->spec.prefix;
    RangeResult snapshot = store_.range(req);
    std::vector<WatchEvent> initial;
    initial.reserve(snapshot.items.size());
    for (auto& kv : snapshot.items) {
      WatchEvent e;
      e.type = WatchEventType::kPut;
      e.kv = std::move(kv);
      initial.push_back(std::move(e));
    }
    // Deliver in key order with their own revisions; lastRevision must not filter them.
    {
      std::lock_guard lock(active->mutex);
      for (const auto& e : initial) {
        auto o = active->spec.type->decode(e.kv.value, {});
        if (!active->selected(*o)) continue;
        stream->write(active->render("ADDED", e.kv.value, *o, e.kv.modRevision));
      }
      active->lastRevision = snapshot.revision;
    }
    after = snapshot.revision;
  } else {
    active->lastRevision = after;
  }

  std::uint64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    id = nextId_++;
    watches_[id] = active;
  }
  std::weak_ptr<Active> weak = active;
  WatchCallbacks callbacks;
  callbacks.onEvents = [weak](const std::vector<WatchEvent>& events) {
    if (auto a = weak.lock()) a->deliver(events);
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
    std::lock_guard lock(mutex_);
    watches_.erase(id);
    if (e.code() == StoreErrorCode::kCompacted) {
      // The watch already started streaming: report 410 as an ERROR event, as upstream does.
      auto status = ApiError::gone("too old resource version: " + std::to_string(after));
      stream->write(watchEventLine("ERROR", api::encodeJson(status.status())));
      stream->close();
      return;
    }
    throw;
  }
  stream->onClose([this, id] {
    // The store watch is destroyed on the timer thread: its destructor waits for a running
    // callback, which may be the very one whose write closed this stream.
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
    for (auto& a : dead) a->storeWatch.reset();
    dead.clear();
    for (auto& a : bookmarks) a->bookmark();
    for (auto& a : expired) a->stream->close();
    lock.lock();
  }
}

}  // namespace kite::controlplane::apiserver
