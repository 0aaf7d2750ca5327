// The SQLite Store: one writer thread with group commit, pooled read connections, a history
// log for reads at a revision and watches from a past revision, and compaction.
//
// Schema (application_id 'kite', kite_meta.format 1):
//   kite_log(revision PK, key, deleted, create_revision, prev_revision, value)
//     (value last: the small columns stay on the row's first page, ahead of a big value)
//     one row per write; a delete is a tombstone row. prev_revision is the row of the value
//     this write replaced (0 when the key was absent), which gives watch events their prev.
//   kite_current(key PK, revision)  the live row of every existing key
//   kite_meta(name PK, value)       format, revision (newest), compacted
#include "kite/controlplane/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <utility>
#include <variant>

#include "sqlite_connection.h"
#include "sqlite_watch_hub.h"

namespace kite::controlplane {
namespace {

using sqlite::Connection;
using sqlite::Statement;
using sqlite::Transaction;

constexpr std::int64_t kApplicationId = 0x6b697465;  // "kite"
constexpr std::int64_t kFormat = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE kite_meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE kite_log(
  revision INTEGER PRIMARY KEY,
  key BLOB NOT NULL,
  deleted INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  value BLOB NOT NULL);
CREATE INDEX kite_log_key ON kite_log(key, revision);
CREATE TABLE kite_current(key BLOB PRIMARY KEY, revision INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO kite_meta(name, value) VALUES ('format', 1), ('revision', 0), ('compacted', 0);
)sql";

constexpr const char* kSelectCurrent =
    "SELECT l.key, l.value, l.create_revision, l.revision FROM kite_current c "
    "JOIN kite_log l ON l.revision = c.revision WHERE c.key = ?1";

// The first key after every key with this prefix (nullopt: no such bound, the prefix is
// empty or all 0xff).
std::optional<std::string> prefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::nullopt;
}

// Key bounds of a prefix (and a pagination cursor) as SQL over `column`, binding from ?10.
struct KeyBounds {
  std::string lower;
  bool lowerStrict = false;
  std::optional<std::string> upper;

  KeyBounds(std::string_view prefix, std::string_view startAfter)
      : lower(prefix), upper(prefixEnd(prefix)) {
    if (!startAfter.empty() && startAfter >= prefix) {
      lower = startAfter;
      lowerStrict = true;
    }
  }

  std::string sql(const char* column) const {
    std::string text = column;
    text.append(lowerStrict ? " > ?10" : " >= ?10");
    if (upper) {
      text.append(" AND ").append(column).append(" < ?11");
    }
    return text;
  }

  void bind(Statement& statement) const {
    statement.bindBlob(10, lower);
    if (upper) {
      statement.bindBlob(11, *upper);
    }
  }
};

KeyValue readKeyValue(const Statement& statement) {
  KeyValue kv;
  kv.key = statement.blobColumn(0);
  kv.value = statement.blobColumn(1);
  kv.createRevision = statement.intColumn(2);
  kv.modRevision = statement.intColumn(3);
  return kv;
}

std::optional<KeyValue> selectCurrent(Connection& connection, std::string_view key) {
  Statement statement = connection.prepare(kSelectCurrent);
  statement.bindBlob(1, key);
  if (!statement.step()) {
    return std::nullopt;
  }
  return readKeyValue(statement);
}

std::int64_t metaValue(Connection& connection, const char* name) {
  Statement statement = connection.prepare("SELECT value FROM kite_meta WHERE name = ?1");
  statement.bindText(1, name);
  if (!statement.step()) {
    std::string message = connection.file();
    message.append(": not a kite store (kite_meta has no ").append(name).append(")");
    throw StoreError(StoreErrorCode::kInternal, message);
  }
  return statement.intColumn(0);
}

// An exclusive flock on the database file for the store's lifetime: two stores writing one
// file would each believe they own the revision counter.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_ < 0) {
      std::string message = path.string();
      message.append(": cannot open: ").append(std::strerror(errno));
      throw StoreError(StoreErrorCode::kUnavailable, message);
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      int error = errno;
      ::close(fd_);
      std::string message = path.string();
      message.append(error == EWOULDBLOCK ? ": in use by another kite store" : ": cannot lock: ");
      if (error != EWOULDBLOCK) {
        message.append(std::strerror(error));
      }
      throw StoreError(StoreErrorCode::kUnavailable, message);
    }
  }
  ~FileLock() { ::close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

struct WriteOp {
  enum class Kind { kCreate, kUpdate, kRemove, kCompact };
  Kind kind = Kind::kCreate;
  std::string key;
  std::string value;
  Revision expected = 0;
  std::promise<WriteResult> done;
};

class SqliteStoreImpl final : public SqliteStore {
 public:
  explicit SqliteStoreImpl(SqliteStoreOptions options);
  ~SqliteStoreImpl() override;
  SqliteStoreImpl(const SqliteStoreImpl&) = delete;
  SqliteStoreImpl& operator=(const SqliteStoreImpl&) = delete;

  Revision currentRevision() override { return revision_.load(); }
  Revision compactedRevision() override { return compacted_.load(); }
  std::optional<KeyValue> get(std::string_view key) override;
  RangeResult range(const RangeRequest& request) override;
  std::int64_t count(std::string_view prefix) override;
  WriteResult create(std::string_view key, std::string_view value) override;
  WriteResult update(std::string_view key, std::string_view value,
                     Revision expectedModRevision) override;
  WriteResult remove(std::string_view key, Revision expectedModRevision) override;
  std::unique_ptr<Watch> watch(std::string_view prefix, Revision afterRevision,
                               WatchCallbacks callbacks) override;
  void compact(Revision revision) override;
  SqliteStoreStats stats() override;

 private:
  // A read connection from the pool, returned on scope exit.
  class Reader {
   public:
    explicit Reader(SqliteStoreImpl& store);
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return connection_.get(); }

   private:
    SqliteStoreImpl& store_;
    std::unique_ptr<Connection> connection_;
  };

  void openDatabase();
  std::unique_ptr<Connection> openReader();
  WriteResult submit(std::unique_ptr<WriteOp> op);
  void writerLoop();
  void runBatch(std::vector<std::unique_ptr<WriteOp>>& batch);
  WriteResult apply(WriteOp& op, Revision& revision, std::vector<WatchEvent>& events);
  void compactTo(Revision target);
  std::vector<WatchEvent> history(const std::string& prefix, Revision after, Revision upTo);
  void checkReadable(Connection& connection, Revision at, const char* what) const;

  const SqliteStoreOptions options_;
  const std::string file_;
  FileLock lock_;
  std::unique_ptr<Connection> writer_;

  std::atomic<Revision> revision_{0};
  std::atomic<Revision> compacted_{0};

  std::mutex readersMutex_;
  std::vector<std::unique_ptr<Connection>> readers_;

  std::mutex queueMutex_;
  std::condition_variable queueChanged_;
  std::deque<std::unique_ptr<WriteOp>> queue_;
  bool stopping_ = false;

  std::atomic<std::uint64_t> transactions_{0};
  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> largestBatch_{0};
  std::atomic<std::uint64_t> compactions_{0};

  std::shared_ptr<sqlite::WatchHub> hub_;
  std::thread writerThread_;
};

SqliteStoreImpl::SqliteStoreImpl(SqliteStoreOptions options)
    : options_(std::move(options)), file_(options_.path.string()), lock_(options_.path) {
  openDatabase();
  hub_ = std::make_shared<sqlite::WatchHub>(options_.watchThreads, revision_.load());
  writerThread_ = std::thread([this] { writerLoop(); });
}

SqliteStoreImpl::~SqliteStoreImpl() {
  {
    std::lock_guard lock(queueMutex_);
    stopping_ = true;
  }
  queueChanged_.notify_all();
  writerThread_.join();
  hub_->close(StoreError(StoreErrorCode::kUnavailable, file_ + ": store closed"));
}

void SqliteStoreImpl::openDatabase() {
  writer_ = std::make_unique<Connection>(options_.path, true);
  auto notKite = [&](std::string_view why) {
    std::string message = file_;
    message.append(": not a kite store (").append(why).append(")");
    return StoreError(StoreErrorCode::kInternal, message);
  };
  std::int64_t applicationId = 0;
  std::int64_t tables = 0;
  try {
    writer_->exec("PRAGMA busy_timeout = 10000");
    applicationId = writer_->queryInt("PRAGMA application_id");
    tables = writer_->queryInt("SELECT count(*) FROM sqlite_master");
  } catch (const StoreError& error) {
    // "file is not a database": garbage where the header should be; or a corrupt schema.
    std::string message = file_;
    message.append(": not a kite store, or corrupt (").append(error.what()).append(")");
    throw StoreError(StoreErrorCode::kInternal, message);
  }
  if (applicationId == 0 && tables == 0) {
    // A new (or empty) file: make it a kite store. WAL must be set outside a transaction.
    writer_->exec("PRAGMA journal_mode = WAL");
    Transaction transaction(*writer_, "BEGIN IMMEDIATE");
    writer_->exec(kSchema);
    writer_->exec("PRAGMA application_id = " + std::to_string(kApplicationId));
    transaction.commit();
  } else if (applicationId != kApplicationId) {
    throw notKite("a SQLite database of another program");
  }
  if (options_.checkOnOpen) {
    std::string verdict;
    try {
      verdict = writer_->queryText("PRAGMA quick_check");
    } catch (const StoreError& error) {
      std::string message = file_;
      message.append(": corrupt: ").append(error.what());
      throw StoreError(StoreErrorCode::kInternal, message);
    }
    if (verdict != "ok") {
      std::string message = file_;
      message.append(": corrupt: ").append(verdict);
      throw StoreError(StoreErrorCode::kInternal, message);
    }
  }
  if (writer_->queryText("PRAGMA journal_mode = WAL") != "wal") {
    throw StoreError(StoreErrorCode::kUnavailable, file_ + ": cannot switch to WAL mode");
  }
  // FULL: every commit fsyncs the WAL, so an acknowledged write survives power loss.
  writer_->exec("PRAGMA synchronous = FULL");
  if (metaValue(*writer_, "format") != kFormat) {
    throw notKite("unknown kite store format");
  }
  // The log's newest row backs up the counter (it never goes backwards on reopen).
  revision_ = std::max<Revision>(metaValue(*writer_, "revision"),
                                 writer_->queryInt("SELECT max(revision) FROM kite_log"));
  compacted_ = metaValue(*writer_, "compacted");
}

std::unique_ptr<Connection> SqliteStoreImpl::openReader() {
  auto connection = std::make_unique<Connection>(options_.path, false);
  connection->exec("PRAGMA busy_timeout = 10000");
  connection->exec("PRAGMA query_only = 1");
  return connection;
}

SqliteStoreImpl::Reader::Reader(SqliteStoreImpl& store) : store_(store) {
  {
    std::lock_guard lock(store_.readersMutex_);
    if (!store_.readers_.empty()) {
      connection_ = std::move(store_.readers_.back());
      store_.readers_.pop_back();
    }
  }
  if (!connection_) {
    connection_ = store_.openReader();
  }
}

SqliteStoreImpl::Reader::~Reader() {
  if (connection_->inTransaction()) {
    return;  // a failed rollback left it unusable: close it instead of pooling it
  }
  std::lock_guard lock(store_.readersMutex_);
  store_.readers_.push_back(std::move(connection_));
}

void SqliteStoreImpl::checkReadable(Connection& connection, Revision at, const char* what) const {
  Revision newest = metaValue(connection, "revision");
  Revision compacted = metaValue(connection, "compacted");
  if (at > newest) {
    std::string message = file_;
    message.append(": ").append(what).append(" at revision ").append(std::to_string(at));
    message.append(": the store is at revision ").append(std::to_string(newest));
    throw StoreError(StoreErrorCode::kFutureRevision, message);
  }
  if (at < compacted) {
    std::string message = file_;
    message.append(": ").append(what).append(" at revision ").append(std::to_string(at));
    message.append(": compacted up to revision ").append(std::to_string(compacted));
    throw StoreError(StoreErrorCode::kCompacted, message);
  }
}

std::optional<KeyValue> SqliteStoreImpl::get(std::string_view key) {
  Reader reader(*this);
  return selectCurrent(*reader, key);
}

RangeResult SqliteStoreImpl::range(const RangeRequest& request) {
  KeyBounds bounds(request.prefix, request.startAfter);
  RangeResult result;
  Reader reader(*this);
  // One read transaction: the revision and the rows come from the same snapshot.
  Transaction snapshot(*reader, "BEGIN");
  std::string sql;
  if (request.revision == 0) {
    result.revision = metaValue(*reader, "revision");
    sql =
        "SELECT l.key, l.value, l.create_revision, l.revision FROM kite_current c "
        "JOIN kite_log l ON l.revision = c.revision WHERE ";
    sql.append(bounds.sql("c.key")).append(" ORDER BY c.key LIMIT ?1");
  } else {
    checkReadable(*reader, request.revision, "range");
    result.revision = request.revision;
    // Each key's newest row at or below the revision, unless that row is a tombstone.
    // Walking the (key, revision) index in key order lets LIMIT stop the scan early.
    sql = "SELECT l.key, l.value, l.create_revision, l.revision FROM kite_log l WHERE ";
    sql.append(bounds.sql("l.key"))
        .append(
            " AND l.revision <= ?2 AND l.revision = (SELECT max(x.revision) FROM kite_log x "
            "WHERE x.key = l.key AND x.revision <= ?2) AND l.deleted = 0 "
            "ORDER BY l.key LIMIT ?1");
  }
  Statement statement = reader->prepare(sql);
  bounds.bind(statement);
  // One more than asked tells whether there are more.
  statement.bindInt(1, request.limit > 0 ? request.limit + 1 : -1);
  if (request.revision != 0) {
    statement.bindInt(2, request.revision);
  }
  while (statement.step()) {
    if (request.limit > 0 && static_cast<std::int64_t>(result.items.size()) == request.limit) {
      result.more = true;
      break;
    }
    result.items.push_back(readKeyValue(statement));
  }
  return result;
}

std::int64_t SqliteStoreImpl::count(std::string_view prefix) {
  KeyBounds bounds(prefix, {});
  Reader reader(*this);
  std::string sql = "SELECT count(*) FROM kite_current WHERE ";
  sql.append(bounds.sql("key"));
  Statement statement = reader->prepare(sql);
  bounds.bind(statement);
  return statement.step() ? statement.intColumn(0) : 0;
}

WriteResult SqliteStoreImpl::create(std::string_view key, std::string_view value) {
  auto op = std::make_unique<WriteOp>();
  op->kind = WriteOp::Kind::kCreate;
  op->key = key;
  op->value = value;
  return submit(std::move(op));
}

WriteResult SqliteStoreImpl::update(std::string_view key, std::string_view value,
                                    Revision expectedModRevision) {
  auto op = std::make_unique<WriteOp>();
  op->kind = WriteOp::Kind::kUpdate;
  op->key = key;
  op->value = value;
  op->expected = expectedModRevision;
  return submit(std::move(op));
}

WriteResult SqliteStoreImpl::remove(std::string_view key, Revision expectedModRevision) {
  auto op = std::make_unique<WriteOp>();
  op->kind = WriteOp::Kind::kRemove;
  op->key = key;
  op->expected = expectedModRevision;
  return submit(std::move(op));
}

void SqliteStoreImpl::compact(Revision revision) {
  auto op = std::make_unique<WriteOp>();
  op->kind = WriteOp::Kind::kCompact;
  op->expected = revision;
  submit(std::move(op));
}

SqliteStoreStats SqliteStoreImpl::stats() {
  SqliteStoreStats result;
  result.transactions = transactions_.load();
  result.writes = writes_.load();
  result.largestBatch = largestBatch_.load();
  result.compactions = compactions_.load();
  std::lock_guard lock(queueMutex_);
  result.queued = queue_.size();
  return result;
}

WriteResult SqliteStoreImpl::submit(std::unique_ptr<WriteOp> op) {
  if (op->value.size() > options_.maxValueBytes) {
    std::string message = file_;
    message.append(": value of ").append(op->key).append(" is ");
    message.append(std::to_string(op->value.size())).append(" bytes, the limit is ");
    message.append(std::to_string(options_.maxValueBytes));
    throw StoreError(StoreErrorCode::kTooLarge, message);
  }
  std::future<WriteResult> done = op->done.get_future();
  {
    std::lock_guard lock(queueMutex_);
    if (stopping_) {
      throw StoreError(StoreErrorCode::kUnavailable, file_ + ": store closed");
    }
    queue_.push_back(std::move(op));
  }
  queueChanged_.notify_one();
  return done.get();
}

void SqliteStoreImpl::writerLoop() {
  using Clock = std::chrono::steady_clock;
  const bool autoCompact = options_.autoCompactInterval.count() > 0;
  auto nextCompaction = Clock::now() + options_.autoCompactInterval;
  std::vector<std::unique_ptr<WriteOp>> batch;
  while (true) {
    batch.clear();
    {
      std::unique_lock lock(queueMutex_);
      auto ready = [&] { return !queue_.empty() || stopping_; };
      if (autoCompact) {
        queueChanged_.wait_until(lock, nextCompaction, ready);
      } else {
        queueChanged_.wait(lock, ready);
      }
      if (queue_.empty() && stopping_) {
        return;
      }
      while (!queue_.empty() && batch.size() < std::max<std::size_t>(1, options_.maxBatch)) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (autoCompact && Clock::now() >= nextCompaction) {
      nextCompaction = Clock::now() + options_.autoCompactInterval;
      Revision target = revision_.load() - options_.autoCompactKeep;
      if (target > compacted_.load()) {
        auto op = std::make_unique<WriteOp>();
        op->kind = WriteOp::Kind::kCompact;
        op->expected = target;
        batch.push_back(std::move(op));
      }
    }
    if (!batch.empty()) {
      runBatch(batch);
    }
  }
}

void SqliteStoreImpl::runBatch(std::vector<std::unique_ptr<WriteOp>>& batch) {
  const Revision before = revision_.load();
  const Revision compactedBefore = compacted_.load();
  Revision revision = before;
  Revision compacted = compactedBefore;
  std::vector<WatchEvent> events;
  std::vector<std::variant<WriteResult, std::exception_ptr>> results;
  results.reserve(batch.size());
  std::size_t writes = 0;
  try {
    Transaction transaction(*writer_, "BEGIN IMMEDIATE");
    for (auto& op : batch) {
      if (op->kind == WriteOp::Kind::kCompact) {
        // Validated here, in order with the writes: the revision it names may be in this batch.
        if (op->expected > revision) {
          std::string message = file_;
          message.append(": compact to revision ").append(std::to_string(op->expected));
          message.append(": the store is at revision ").append(std::to_string(revision));
          results.emplace_back(
              std::make_exception_ptr(StoreError(StoreErrorCode::kFutureRevision, message)));
          continue;
        }
        if (op->expected > compacted) {
          // Rows a read at >= target - 1 can still need stay: each key's newest row below the
          // target (unless it is a tombstone) and everything from the target on. Keeping the
          // rows of target - 1 also keeps the prev of events at the target.
          writer_
              ->prepare(
                  "DELETE FROM kite_log WHERE revision < ?1 AND (deleted = 1 OR EXISTS "
                  "(SELECT 1 FROM kite_log n WHERE n.key = kite_log.key AND n.revision > "
                  "kite_log.revision AND n.revision < ?1))")
              .bindInt(1, op->expected)
              .run();
          compacted = op->expected;
        }
        WriteResult done;
        done.succeeded = true;
        done.revision = revision;
        results.emplace_back(std::move(done));
        continue;
      }
      ++writes;
      results.emplace_back(apply(*op, revision, events));
    }
    if (revision != before) {
      writer_->prepare("UPDATE kite_meta SET value = ?1 WHERE name = 'revision'")
          .bindInt(1, revision)
          .run();
    }
    if (compacted != compactedBefore) {
      writer_->prepare("UPDATE kite_meta SET value = ?1 WHERE name = 'compacted'")
          .bindInt(1, compacted)
          .run();
    }
    if (options_.beforeCommit) {
      options_.beforeCommit(batch.size());
    }
    transaction.commit();
  } catch (...) {
    // Nothing of the batch happened: every writer in it gets the failure.
    auto error = std::current_exception();
    for (auto& op : batch) {
      op->done.set_exception(error);
    }
    return;
  }
  // Durable now. Publish before acknowledging, so a writer that returns finds its event
  // already on its way to every watch.
  revision_ = revision;
  compacted_ = compacted;
  transactions_.fetch_add(1);
  writes_.fetch_add(writes);
  if (compacted != compactedBefore) {
    compactions_.fetch_add(1);
  }
  std::uint64_t largest = largestBatch_.load();
  while (writes > largest && !largestBatch_.compare_exchange_weak(largest, writes)) {
  }
  if (!events.empty()) {
    hub_->publish(revision, events);
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (auto* result = std::get_if<WriteResult>(&results[i])) {
      batch[i]->done.set_value(std::move(*result));
    } else {
      batch[i]->done.set_exception(std::get<std::exception_ptr>(results[i]));
    }
  }
}

WriteResult SqliteStoreImpl::apply(WriteOp& op, Revision& revision,
                                   std::vector<WatchEvent>& events) {
  WriteResult result;
  std::optional<KeyValue> current = selectCurrent(*writer_, op.key);
  switch (op.kind) {
    case WriteOp::Kind::kCreate:
      if (current) {
        result.revision = revision;
        result.current = std::move(current);
        return result;
      }
      break;
    case WriteOp::Kind::kUpdate:
    case WriteOp::Kind::kRemove: {
      bool mustMatch = op.kind == WriteOp::Kind::kUpdate || op.expected != 0;
      if (!current || (mustMatch && current->modRevision != op.expected)) {
        result.revision = revision;
        result.current = std::move(current);
        return result;
      }
      break;
    }
    case WriteOp::Kind::kCompact:
      break;
  }

  const Revision next = revision + 1;
  const bool isRemove = op.kind == WriteOp::Kind::kRemove;
  WatchEvent event;
  event.type = isRemove ? WatchEventType::kDelete : WatchEventType::kPut;
  event.kv.key = op.key;
  event.kv.modRevision = next;
  if (!isRemove) {
    event.kv.value = op.value;
    event.kv.createRevision = current ? current->createRevision : next;
  }
  writer_
      ->prepare(
          "INSERT INTO kite_log(revision, key, value, create_revision, prev_revision, deleted) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
      .bindInt(1, next)
      .bindBlob(2, op.key)
      .bindBlob(3, isRemove ? std::string_view() : std::string_view(op.value))
      .bindInt(4, current ? current->createRevision : next)
      .bindInt(5, current ? current->modRevision : 0)
      .bindInt(6, isRemove ? 1 : 0)
      .run();
  if (isRemove) {
    writer_->prepare("DELETE FROM kite_current WHERE key = ?1").bindBlob(1, op.key).run();
  } else {
    writer_->prepare("INSERT OR REPLACE INTO kite_current(key, revision) VALUES (?1, ?2)")
        .bindBlob(1, op.key)
        .bindInt(2, next)
        .run();
  }
  revision = next;

  result.succeeded = true;
  result.revision = next;
  if (isRemove) {
    result.deleted = current;
  } else {
    result.current = event.kv;
  }
  event.prev = std::move(current);
  events.push_back(std::move(event));
  return result;
}

std::vector<WatchEvent> SqliteStoreImpl::history(const std::string& prefix, Revision after,
                                                 Revision upTo) {
  std::vector<WatchEvent> events;
  KeyBounds bounds(prefix, {});
  Reader reader(*this);
  Transaction snapshot(*reader, "BEGIN");
  Revision compacted = metaValue(*reader, "compacted");
  if (after + 1 < compacted) {
    std::string message = file_;
    message.append(": watch from revision ").append(std::to_string(after + 1));
    message.append(": compacted up to revision ").append(std::to_string(compacted));
    throw StoreError(StoreErrorCode::kCompacted, message);
  }
  std::string sql =
      "SELECT key, value, create_revision, revision, prev_revision, deleted FROM kite_log "
      "WHERE revision > ?1 AND revision <= ?2 AND ";
  sql.append(bounds.sql("key")).append(" ORDER BY revision");
  Statement statement = reader->prepare(sql);
  statement.bindInt(1, after).bindInt(2, upTo);
  bounds.bind(statement);
  while (statement.step()) {
    WatchEvent event;
    event.kv = readKeyValue(statement);
    Revision prev = statement.intColumn(4);
    if (statement.intColumn(5) != 0) {
      event.type = WatchEventType::kDelete;
      event.kv.createRevision = 0;
    }
    if (prev != 0) {
      Statement prevRow = reader->prepare(
          "SELECT key, value, create_revision, revision FROM kite_log WHERE revision = ?1");
      prevRow.bindInt(1, prev);
      if (prevRow.step()) {
        event.prev = readKeyValue(prevRow);
      }
    }
    events.push_back(std::move(event));
  }
  return events;
}

std::unique_ptr<Watch> SqliteStoreImpl::watch(std::string_view prefix, Revision afterRevision,
                                              WatchCallbacks callbacks) {
  if (afterRevision + 1 < compacted_.load()) {
    std::string message = file_;
    message.append(": watch from revision ").append(std::to_string(afterRevision + 1));
    message.append(": compacted up to revision ").append(std::to_string(compacted_.load()));
    throw StoreError(StoreErrorCode::kCompacted, message);
  }
  auto [watcher, published] = hub_->add(std::string(prefix), afterRevision, std::move(callbacks));
  std::vector<WatchEvent> past;
  try {
    if (afterRevision < published) {
      past = history(std::string(prefix), afterRevision, published);
    }
  } catch (...) {
    hub_->remove(watcher);
    throw;
  }
  hub_->start(watcher, std::move(past));
  return std::make_unique<sqlite::HubWatch>(hub_, watcher);
}

}  // namespace

std::unique_ptr<Store> openSqliteStore(const SqliteStoreOptions& options) {
  return std::make_unique<SqliteStoreImpl>(options);
}

}  // namespace kite::controlplane
