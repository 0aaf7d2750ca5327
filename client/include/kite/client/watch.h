#pragma once
// A watch stream: a thread reads the server's newline-delimited watch events and queues them;
// the caller takes them with next(). stop() (or the destructor) cancels the request promptly
// from any thread.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "kite/api/json.h"
#include "kite/api/meta/v1/types.h"
#include "kite/client/transport.h"

namespace kite::client {

enum class EventType { Added, Modified, Deleted, Bookmark, Error };

std::string_view toString(EventType type);

struct RawWatchEvent {
  EventType type = EventType::Added;
  std::string object;  // the event's object as JSON (a Status for Error)
};

class RawWatch {
 public:
  // Starts streaming at once. A non-200 answer arrives as one Error event with the server's
  // Status, then the watch closes.
  RawWatch(Transport& transport, HttpRequest request, std::chrono::milliseconds readTimeout);
  ~RawWatch();
  RawWatch(const RawWatch&) = delete;
  RawWatch& operator=(const RawWatch&) = delete;

  // The next event; waits at most `timeout` (forever when nullopt). nullopt on timeout or when
  // the stream has ended and every event was taken (then closed() is true).
  std::optional<RawWatchEvent> next(
      std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Ends the stream; events already queued can still be taken.
  void stop();
  // The stream ended and the queue is empty.
  bool closed() const;
  // Why the stream ended when it failed (connection lost, undecodable line); null when the
  // server ended it, the watch timed out, or it was stopped.
  std::exception_ptr error() const;

 private:
  void run(Transport& transport, const HttpRequest& request, std::chrono::milliseconds readTimeout);
  void push(RawWatchEvent event);

  StreamCanceller canceller_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<RawWatchEvent> queue_;
  bool ended_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

template <class T>
struct WatchEvent {
  EventType type = EventType::Added;
  T object;                      // Added, Modified, Deleted; Bookmark: only resourceVersion
  api::meta::v1::Status status;  // Error
};

template <class T>
class Watch {
 public:
  explicit Watch(std::unique_ptr<RawWatch> raw) : raw_(std::move(raw)) {}

  // As RawWatch::next, decoded. Throws api::ParseError/FieldErrors for an object that does not
  // decode as T.
  std::optional<WatchEvent<T>> next(
      std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
    auto raw = raw_->next(timeout);
    if (!raw) return std::nullopt;
    WatchEvent<T> event;
    event.type = raw->type;
    if (raw->type == EventType::Error) {
      event.status = api::decodeJson<api::meta::v1::Status>(raw->object);
    } else {
      event.object = api::decodeJson<T>(raw->object);
    }
    return event;
  }
  void stop() { raw_->stop(); }
  bool closed() const { return raw_->closed(); }
  std::exception_ptr error() const { return raw_->error(); }

 private:
  std::unique_ptr<RawWatch> raw_;
};

}  // namespace kite::client
