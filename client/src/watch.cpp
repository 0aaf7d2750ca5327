#include "kite/client/watch.h"

#include "kite/client/errors.h"

namespace kite::client {

std::string_view toString(EventType type) {
  switch (type) {
    case EventType::Added:
      return "ADDED";
    case EventType::Modified:
      return "MODIFIED";
    case EventType::Deleted:
      return "DELETED";
    case EventType::Bookmark:
      return "BOOKMARK";
    case EventType::Error:
      return "ERROR";
  }
  return "?";
}

namespace {

std::optional<EventType> parseType(std::string_view s) {
  if (s == "ADDED") return EventType::Added;
  if (s == "MODIFIED") return EventType::Modified;
  if (s == "DELETED") return EventType::Deleted;
  if (s == "BOOKMARK") return EventType::Bookmark;
  if (s == "ERROR") return EventType::Error;
  return std::nullopt;
}

}  // namespace

RawWatch::RawWatch(Transport& transport, HttpRequest request, std::chrono::milliseconds readTimeout)
    : thread_([this, &transport, req = std::move(request), readTimeout] {
        run(transport, req, readTimeout);
      }) {}

RawWatch::~RawWatch() {
  stop();
  if (thread_.joinable()) thread_.join();
}

void RawWatch::run(Transport& transport, const HttpRequest& request,
                   std::chrono::milliseconds readTimeout) {
  try {
    const HttpResponse response = transport.stream(
        request,
        [this](std::string_view line) {
          const auto event = api::decodeJson<api::meta::v1::WatchEvent>(line);
          const auto type = parseType(event.type);
          if (!type) throw TransportError("watch event of unknown type \"" + event.type + "\"");
          push(RawWatchEvent{*type, event.object.text()});
          return true;
        },
        canceller_, readTimeout);
    if (response.status != 200 && response.status != 0) {
      const auto status = statusFromHttp(response.status, response.body);
      push(RawWatchEvent{EventType::Error, api::encodeJson(status)});
    }
  } catch (...) {
    std::lock_guard lock(mutex_);
    if (!canceller_.cancelled()) error_ = std::current_exception();
  }
  std::lock_guard lock(mutex_);
  ended_ = true;
  cv_.notify_all();
}

void RawWatch::push(RawWatchEvent event) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(event));
  cv_.notify_all();
}

std::optional<RawWatchEvent> RawWatch::next(std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock lock(mutex_);
  const auto ready = [this] { return !queue_.empty() || ended_; };
  if (timeout) {
    cv_.wait_for(lock, *timeout, ready);
  } else {
    cv_.wait(lock, ready);
  }
  if (queue_.empty()) return std::nullopt;
  RawWatchEvent e = std::move(queue_.front());
  queue_.pop_front();
  return e;
}

void RawWatch::stop() { canceller_.cancel(); }

bool RawWatch::closed() const {
  std::lock_guard lock(mutex_);
  return ended_ && queue_.empty();
}

std::exception_ptr RawWatch::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

}  // namespace kite::client
