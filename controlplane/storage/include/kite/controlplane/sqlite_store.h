#pragma once
// The embedded SQLite backend of the Store seam (kite server's default datastore).
//
// One database file (plus SQLite's -wal and -shm companions) in WAL mode with
// synchronous=FULL: a write is acknowledged only after its transaction is on disk, so it
// survives kill -9 and power loss. Writers enqueue and block; one writer thread runs every
// queued write in a single transaction and commits once (group commit), so many concurrent
// writers share one fsync. Reads run on their own connections and never wait for the writer.
//
// Every write appends a row to a history log; reads at a revision and watches from a past
// revision are served from it. Compaction forgets history below a revision. Automatic
// compaction runs every `autoCompactInterval` and keeps the newest `autoCompactKeep`
// revisions (the defaults follow k3s's kine: every 5 minutes, keep 1000 revisions).
//
// The file is locked (flock) while open: a second store on the same file, in this process or
// another, fails with kUnavailable.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "kite/controlplane/store.h"

namespace kite::controlplane {

struct SqliteStoreOptions {
  std::filesystem::path path;  // the database file; created if missing
  // Automatic compaction: every interval, compact to (newest revision - keep). An interval
  // of zero turns it off.
  std::chrono::milliseconds autoCompactInterval = std::chrono::minutes(5);
  std::int64_t autoCompactKeep = 1000;
  // The most writes one transaction carries (the rest wait for the next batch).
  std::size_t maxBatch = 1024;
  // Values larger than this are refused with kTooLarge.
  std::size_t maxValueBytes = std::size_t{8} << 20U;
  // Threads that run watch callbacks (a watch's callbacks never run concurrently).
  int watchThreads = 1;
  // Run SQLite's quick_check when opening an existing file (finds corruption early).
  bool checkOnOpen = true;
  // For tests: runs on the writer thread just before each commit, with the batch size.
  std::function<void(std::size_t)> beforeCommit;
};

struct SqliteStoreStats {
  std::uint64_t transactions = 0;  // committed write transactions (one fsync of the WAL each)
  std::uint64_t writes = 0;        // create/update/remove calls the writer ran
  std::uint64_t largestBatch = 0;  // most writes one transaction carried
  std::uint64_t queued = 0;        // writes waiting for the writer now
  std::uint64_t compactions = 0;   // compactions run (manual and automatic)
};

// The concrete store's extra surface; openSqliteStore's result can be cast to it.
class SqliteStore : public Store {
 public:
  virtual SqliteStoreStats stats() = 0;
};

// Opens (creating if needed) the store in options.path. Throws StoreError naming the file if
// it is not a kite store, is corrupt, or is in use.
std::unique_ptr<Store> openSqliteStore(const SqliteStoreOptions& options);

}  // namespace kite::controlplane
