// The SQLite backend: the conformance suite, plus what only an embedded store has to show
// (durability under kill -9, group commit, reopening, refusing foreign and corrupt files).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kite/controlplane/sqlite_store.h"
#include "store_conformance.h"

namespace kite::controlplane {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "kite-sqlite-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

SqliteStoreOptions optionsIn(const TempDir& dir) {
  SqliteStoreOptions options;
  options.path = dir.path() / "kite.db";
  return options;
}

struct SqliteBackend {
  TempDir dir;
  std::unique_ptr<Store> open() const { return openSqliteStore(optionsIn(dir)); }
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StoreConformance, SqliteBackend);
}  // namespace conformance

namespace {

SqliteStore& sqliteOf(Store& store) { return dynamic_cast<SqliteStore&>(store); }

TEST(SqliteStore, ReopenContinuesTheRevisionCounter) {
  TempDir dir;
  Revision last = 0;
  {
    auto store = openSqliteStore(optionsIn(dir));
    ASSERT_TRUE(store->create("/a", "1").succeeded);
    WriteResult b = store->create("/b", "2");
    ASSERT_TRUE(b.succeeded);
    WriteResult gone = store->remove("/a", 0);
    ASSERT_TRUE(gone.succeeded);
    last = gone.revision;
    store->compact(b.revision);
  }
  auto store = openSqliteStore(optionsIn(dir));
  EXPECT_EQ(store->currentRevision(), last);
  EXPECT_EQ(store->compactedRevision(), last - 1);
  EXPECT_FALSE(store->get("/a").has_value());
  auto b = store->get("/b");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->value, "2");
  WriteResult next = store->create("/c", "3");
  EXPECT_EQ(next.revision, last + 1);
}

TEST(SqliteStore, SecondOpenOfTheSameFileIsRefused) {
  TempDir dir;
  auto store = openSqliteStore(optionsIn(dir));
  try {
    openSqliteStore(optionsIn(dir));
    FAIL() << "opened twice";
  } catch (const StoreError& error) {
    EXPECT_EQ(error.code(), StoreErrorCode::kUnavailable);
    EXPECT_NE(std::string(error.what()).find("kite.db"), std::string::npos) << error.what();
  }
}

// The StoreError opening `path` throws (fails the test when it opens).
std::optional<StoreError> openError(const fs::path& path) {
  SqliteStoreOptions options;
  options.path = path;
  try {
    openSqliteStore(options);
  } catch (const StoreError& error) {
    return error;
  }
  return std::nullopt;
}

TEST(SqliteStore, AFileThatIsNoDatabaseIsRefusedByName) {
  TempDir dir;
  fs::path path = dir.path() / "notes.txt";
  {
    std::ofstream out(path);
    for (int i = 0; i < 200; ++i) {
      out << "this is not a database, it is line " << i << "\n";
    }
  }
  auto error = openError(path);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(std::string(error->what()).find(path.string()), std::string::npos) << error->what();
}

TEST(SqliteStore, AnotherProgramsDatabaseIsRefusedByName) {
  TempDir dir;
  fs::path path = dir.path() / "other.db";
  std::string command = "sqlite3 ";
  command.append(path.string()).append(" 'CREATE TABLE t(x); INSERT INTO t VALUES (1);'");
  ASSERT_EQ(std::system(command.c_str()), 0);
  auto error = openError(path);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(std::string(error->what()).find(path.string()), std::string::npos) << error->what();
  EXPECT_NE(std::string(error->what()).find("not a kite store"), std::string::npos)
      << error->what();
}

TEST(SqliteStore, ACorruptStoreIsRefusedByName) {
  TempDir dir;
  SqliteStoreOptions options = optionsIn(dir);
  {
    auto store = openSqliteStore(options);
    std::string value(3000, 'v');
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(store->create("/k/" + std::to_string(i), value).succeeded);
    }
  }
  // Closing checkpointed the WAL into the file; scribble over pages past the header page.
  auto size = fs::file_size(options.path);
  ASSERT_GT(size, 64U * 1024U);
  {
    std::fstream file(options.path, std::ios::in | std::ios::out | std::ios::binary);
    std::string garbage(std::size_t{16} * 1024, '\x5a');
    file.seekp(4096);
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  auto error = openError(options.path);
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(std::string(error->what()).find(options.path.string()), std::string::npos)
      << error->what();
}

TEST(SqliteStore, ValuesOverTheLimitAreRefused) {
  TempDir dir;
  SqliteStoreOptions options = optionsIn(dir);
  options.maxValueBytes = 1000;
  auto store = openSqliteStore(options);
  EXPECT_EQ(conformance::errorCodeOf([&] { store->create("/big", std::string(1001, 'x')); }),
            StoreErrorCode::kTooLarge);
  EXPECT_TRUE(store->create("/big", std::string(1000, 'x')).succeeded);
}

TEST(SqliteStore, ConcurrentWritersShareTransactions) {
  constexpr int kWriters = 32;
  TempDir dir;
  SqliteStoreOptions options = optionsIn(dir);
  // Hold the first commit until every other writer is queued behind it: then they must all
  // go into the next transaction together. No timing involved.
  std::mutex mutex;
  std::condition_variable queuedUp;
  SqliteStore* self = nullptr;
  bool first = true;
  options.beforeCommit = [&](std::size_t batch) {
    std::unique_lock lock(mutex);
    if (!first) {
      return;
    }
    first = false;
    while (self->stats().queued < kWriters - batch) {
      queuedUp.wait_for(lock, std::chrono::milliseconds(5));
    }
  };
  auto store = openSqliteStore(options);
  {
    std::lock_guard lock(mutex);
    self = &sqliteOf(*store);
  }
  std::vector<std::thread> writers;
  writers.reserve(kWriters);
  std::atomic<int> ok{0};
  for (int i = 0; i < kWriters; ++i) {
    writers.emplace_back([&, i] {
      if (store->create("/batch/" + std::to_string(i), "v").succeeded) {
        ++ok;
      }
    });
  }
  for (auto& writer : writers) {
    writer.join();
  }
  EXPECT_EQ(ok.load(), kWriters);
  SqliteStoreStats stats = self->stats();
  EXPECT_EQ(stats.writes, static_cast<std::uint64_t>(kWriters));
  // The first batch is whoever was queued when the writer woke; everyone else is the second.
  EXPECT_LE(stats.transactions, 2U);
  EXPECT_GE(stats.largestBatch, static_cast<std::uint64_t>(kWriters / 2));
  EXPECT_EQ(store->count("/batch/"), kWriters);
  EXPECT_EQ(store->currentRevision(), kWriters);
}

TEST(SqliteStore, AutomaticCompactionKeepsTheNewestRevisions) {
  TempDir dir;
  SqliteStoreOptions options = optionsIn(dir);
  options.autoCompactInterval = std::chrono::milliseconds(1);
  options.autoCompactKeep = 10;
  auto store = openSqliteStore(options);
  WriteResult last;
  for (int i = 0; i < 50; ++i) {
    last = store->create("/auto/" + std::to_string(i), "v");
    ASSERT_TRUE(last.succeeded);
  }
  // The writer compacts on its own clock; wait (bounded) until it has caught up with the
  // last write.
  for (int i = 0; i < 60000 && store->compactedRevision() < last.revision - 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(store->compactedRevision(), last.revision - 10);
  EXPECT_GE(sqliteOf(*store).stats().compactions, 1U);
  EXPECT_EQ(store->count("/auto/"), 50);
}

TEST(SqliteStore, CompactingToAFutureRevisionFails) {
  TempDir dir;
  auto store = openSqliteStore(optionsIn(dir));
  ASSERT_TRUE(store->create("/k", "v").succeeded);
  EXPECT_EQ(conformance::errorCodeOf([&] { store->compact(store->currentRevision() + 1); }),
            StoreErrorCode::kFutureRevision);
  store->compact(store->currentRevision());
  EXPECT_EQ(store->compactedRevision(), store->currentRevision());
  // Compacting below what is already compacted changes nothing.
  store->compact(0);
  EXPECT_EQ(store->compactedRevision(), store->currentRevision());
}

TEST(SqliteStore, ClosingTheStoreEndsItsWatchesWithAnError) {
  TempDir dir;
  conformance::EventCollector events;
  std::unique_ptr<Watch> watch;
  {
    auto store = openSqliteStore(optionsIn(dir));
    watch = store->watch("/w/", 0, events.callbacks());
    WriteResult created = store->create("/w/k", "v");
    ASSERT_TRUE(created.succeeded);
    ASSERT_TRUE(events.waitForRevision(created.revision));
  }
  auto error = events.error();
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code(), StoreErrorCode::kUnavailable);
  watch.reset();  // after the store: still safe
}

TEST(SqliteStore, HistorySurvivesReopen) {
  TempDir dir;
  Revision first = 0;
  Revision last = 0;
  {
    auto store = openSqliteStore(optionsIn(dir));
    first = store->create("/h/k", "1").revision;
    last = store->update("/h/k", "2", first).revision;
  }
  auto store = openSqliteStore(optionsIn(dir));
  RangeRequest request;
  request.prefix = "/h/";
  request.revision = first;
  RangeResult old = store->range(request);
  ASSERT_EQ(old.items.size(), 1U);
  EXPECT_EQ(old.items[0].value, "1");
  conformance::EventCollector events;
  auto watch = store->watch("/h/", 0, events.callbacks());
  ASSERT_TRUE(events.waitForRevision(last));
  EXPECT_EQ(conformance::revisionsOf(events.events()), (std::vector<Revision>{first, last}));
}

TEST(SqliteStore, ACallbackMayCancelAnotherWatch) {
  TempDir dir;
  SqliteStoreOptions options = optionsIn(dir);
  options.watchThreads = 2;
  auto store = openSqliteStore(options);
  conformance::EventCollector victim;
  std::unique_ptr<Watch> victimWatch = store->watch("/c/", 0, victim.callbacks());
  std::mutex mutex;
  std::condition_variable cancelled;
  bool done = false;
  std::size_t victimAtCancel = 0;
  WatchCallbacks canceller;
  canceller.onEvents = [&](const std::vector<WatchEvent>&) {
    std::lock_guard lock(mutex);
    if (victimWatch) {
      victimWatch.reset();
      victimAtCancel = victim.size();
      done = true;
      cancelled.notify_all();
    }
  };
  auto cancellerWatch = store->watch("/c/", 0, canceller);
  ASSERT_TRUE(store->create("/c/1", "v").succeeded);
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cancelled.wait_for(lock, conformance::kWaitGuard, [&] { return done; }));
  }
  conformance::EventCollector witness;
  auto witnessWatch = store->watch("/c/", store->currentRevision(), witness.callbacks());
  WriteResult after = store->create("/c/2", "v");
  ASSERT_TRUE(witness.waitForRevision(after.revision));
  std::lock_guard lock(mutex);
  EXPECT_EQ(victim.size(), victimAtCancel);
}

// The child: opens the store, creates keys one by one and reports each acknowledged one on
// the pipe, until it is killed.
[[noreturn]] void writeUntilKilled(const fs::path& path, int reportFd) {
  try {
    SqliteStoreOptions options;
    options.path = path;
    auto store = openSqliteStore(options);
    for (int i = 0;; ++i) {
      std::string key = "/durable/" + std::to_string(i);
      WriteResult result = store->create(key, "value-" + std::to_string(i));
      if (!result.succeeded) {
        ::_exit(3);
      }
      std::string line = std::to_string(i) + "\n";
      if (::write(reportFd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        ::_exit(4);
      }
    }
  } catch (...) {
    ::_exit(5);
  }
}

TEST(SqliteStore, AcknowledgedWritesSurviveKill9) {
  TempDir dir;
  fs::path path = dir.path() / "kite.db";
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    writeUntilKilled(path, fds[1]);
  }
  ::close(fds[1]);
  // Read acknowledgements; kill the child in the middle of its stream.
  std::vector<int> acknowledged;
  std::string buffer;
  char chunk[256];
  bool killed = false;
  while (true) {
    ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) {
      break;
    }
    buffer.append(chunk, static_cast<std::size_t>(n));
    std::size_t newline = 0;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      acknowledged.push_back(std::stoi(buffer.substr(0, newline)));
      buffer.erase(0, newline + 1);
    }
    if (!killed && acknowledged.size() >= 200) {
      ::kill(child, SIGKILL);
      killed = true;
    }
  }
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  ASSERT_GE(acknowledged.size(), 200U);

  SqliteStoreOptions options;
  options.path = path;
  auto store = openSqliteStore(options);
  for (int i : acknowledged) {
    auto got = store->get("/durable/" + std::to_string(i));
    ASSERT_TRUE(got.has_value()) << "acknowledged key " << i << " lost";
    EXPECT_EQ(got->value, "value-" + std::to_string(i));
  }
  // The counter continues past everything that was written.
  EXPECT_GE(store->currentRevision(), static_cast<Revision>(acknowledged.size()));
  WriteResult next = store->create("/durable/after", "v");
  ASSERT_TRUE(next.succeeded);
}

}  // namespace
}  // namespace kite::controlplane
