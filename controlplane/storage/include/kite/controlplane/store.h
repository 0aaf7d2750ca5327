#pragma once
// The API server's storage seam: a key-value store with a global revision counter,
// compare-and-swap writes, paginated range reads at a revision, and watches from a
// revision. Embedded SQLite (the default) and etcd v3 implement it; both pass the same
// conformance suite (tests/controlplane/storage/store_conformance.h).
//
// Revisions are etcd's: one counter for the whole store, bumped by every successful write;
// a key's createRevision is the revision that created it, its modRevision the one that last
// changed it. Kubernetes resourceVersions are these revisions.
//
// Expected outcomes of a write (the key exists, the revision moved on) are results, not
// errors; StoreError is for failures (unreachable backend, compacted revision, corruption).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kite::controlplane {

using Revision = std::int64_t;

struct KeyValue {
  std::string key;
  std::string value;
  Revision createRevision = 0;
  Revision modRevision = 0;
};

enum class StoreErrorCode {
  kCompacted,       // the revision asked for was compacted away (the API's 410 Gone)
  kFutureRevision,  // a read at a revision the store has not reached
  kUnavailable,     // the backend cannot be reached or refused the request
  kTooLarge,        // the value exceeds the backend's limit
  kInternal,
};

class StoreError : public std::runtime_error {
 public:
  StoreError(StoreErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  StoreErrorCode code() const { return code_; }

 private:
  StoreErrorCode code_;
};

// Outcome of create/update/remove. On success `revision` is the write's revision; on
// failure `current` is what the key holds now (nullopt: absent), so the caller can report a
// conflict or retry without another read.
struct WriteResult {
  bool succeeded = false;
  Revision revision = 0;
  std::optional<KeyValue> current;
  // remove() only: the value that was deleted.
  std::optional<KeyValue> deleted;
};

struct RangeRequest {
  std::string prefix;      // keys starting with this
  std::string startAfter;  // pagination: only keys > startAfter (empty: from the start)
  std::int64_t limit = 0;  // at most this many (0: no limit)
  Revision revision = 0;   // read as of this revision (0: the newest)
};

struct RangeResult {
  std::vector<KeyValue> items;  // ascending by key
  bool more = false;            // further keys match beyond the limit
  Revision revision = 0;        // the revision the read was made at
};

enum class WatchEventType { kPut, kDelete };

struct WatchEvent {
  WatchEventType type = WatchEventType::kPut;
  // kPut: the new value (createRevision == modRevision when this put created the key).
  // kDelete: key, and modRevision = the delete's revision; value is empty.
  KeyValue kv;
  // The value before this event (for kDelete: what was deleted); nullopt for a create.
  std::optional<KeyValue> prev;
};

// Receives a watch's events in revision order, from a thread of the store's own. A callback
// must not block for long; it must not call back into the same Watch.
struct WatchCallbacks {
  std::function<void(const std::vector<WatchEvent>&)> onEvents;
  // The watch ended for good (compaction overtook it, backend lost). Not called on cancel.
  std::function<void(const StoreError&)> onError;
};

// Cancels the watch when destroyed; after the destructor returns no callback runs.
class Watch {
 public:
  virtual ~Watch() = default;
};

class Store {
 public:
  virtual ~Store() = default;

  // The newest revision (0 for an empty store that never saw a write).
  virtual Revision currentRevision() = 0;
  // The oldest revision still readable; reads and watches below it fail with kCompacted.
  virtual Revision compactedRevision() = 0;

  virtual std::optional<KeyValue> get(std::string_view key) = 0;
  virtual RangeResult range(const RangeRequest& request) = 0;
  // Number of keys with this prefix now.
  virtual std::int64_t count(std::string_view prefix) = 0;

  // Fails if the key exists.
  virtual WriteResult create(std::string_view key, std::string_view value) = 0;
  // Fails if the key is absent or its modRevision is not expectedModRevision.
  virtual WriteResult update(std::string_view key, std::string_view value,
                             Revision expectedModRevision) = 0;
  // Fails if the key is absent, or if expectedModRevision != 0 and differs from it.
  virtual WriteResult remove(std::string_view key, Revision expectedModRevision) = 0;

  // Events for keys with this prefix and revision > afterRevision, first the past ones (from
  // history) then live ones. Throws kCompacted if afterRevision+1 is already compacted.
  virtual std::unique_ptr<Watch> watch(std::string_view prefix, Revision afterRevision,
                                       WatchCallbacks callbacks) = 0;

  // Forget the history of revisions below `revision` (current values stay).
  virtual void compact(Revision revision) = 0;
};

}  // namespace kite::controlplane
