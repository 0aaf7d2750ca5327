#include "sqlite_connection.h"

#include <utility>

namespace kite::controlplane::sqlite {
namespace {

StoreErrorCode codeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return StoreErrorCode::kUnavailable;
    case SQLITE_TOOBIG:
      return StoreErrorCode::kTooLarge;
    default:
      return StoreErrorCode::kInternal;
  }
}

}  // namespace

void throwError(int rc, sqlite3* db, const std::string& file, std::string_view what) {
  std::string message = file;
  message.append(": ").append(what).append(": ");
  // The connection's message is more specific than the code's, when there is a connection.
  message.append(db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  throw StoreError(codeFor(rc), message);
}

Statement::Statement(sqlite3_stmt* stmt, const std::string& file) : stmt_(stmt), file_(&file) {}

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), file_(other.file_) {}

Statement& Statement::bindBlob(int index, std::string_view bytes) {
  // A null pointer would bind NULL; an empty blob needs a non-null one.
  const char* data = bytes.empty() ? "" : bytes.data();
  int rc = sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) {
    throwError(rc, sqlite3_db_handle(stmt_), *file_, "bind");
  }
  return *this;
}

Statement& Statement::bindText(int index, std::string_view text) {
  const char* data = text.empty() ? "" : text.data();
  int rc = sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) {
    throwError(rc, sqlite3_db_handle(stmt_), *file_, "bind");
  }
  return *this;
}

Statement& Statement::bindInt(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) {
    throwError(rc, sqlite3_db_handle(stmt_), *file_, "bind");
  }
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  std::string what = "running ";
  what.append(sqlite3_sql(stmt_));
  throwError(rc, sqlite3_db_handle(stmt_), *file_, what);
}

void Statement::run() {
  while (step()) {
  }
}

std::int64_t Statement::intColumn(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::blobColumn(int column) const {
  // Ask for the blob before its size: the documented order that avoids a conversion.
  const void* data = sqlite3_column_blob(stmt_, column);
  auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
  if (data == nullptr || size == 0) {
    return {};
  }
  return {static_cast<const char*>(data), size};
}

Connection::Connection(const std::filesystem::path& path, bool create) : file_(path.string()) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (create) {
    flags |= SQLITE_OPEN_CREATE;
  }
  int rc = sqlite3_open_v2(file_.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = file_;
    message.append(": cannot open: ")
        .append(db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw StoreError(codeFor(rc), message);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Connection::~Connection() {
  statements_.clear();
  sqlite3_close_v2(db_);
}

void Connection::exec(const std::string& sql) {
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    throwError(rc, db_, file_, sql);
  }
}

Statement Connection::prepare(const std::string& sql) {
  auto found = statements_.find(sql);
  if (found == statements_.end()) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(raw);
      std::string what = "preparing ";
      what.append(sql);
      throwError(rc, db_, file_, what);
    }
    found = statements_.emplace(sql, std::unique_ptr<sqlite3_stmt, StatementDeleter>(raw)).first;
  }
  return {found->second.get(), file_};
}

std::int64_t Connection::queryInt(const std::string& sql) {
  Statement statement = prepare(sql);
  return statement.step() ? statement.intColumn(0) : 0;
}

std::string Connection::queryText(const std::string& sql) {
  Statement statement = prepare(sql);
  return statement.step() ? statement.blobColumn(0) : std::string();
}

Transaction::Transaction(Connection& connection, const char* begin) : connection_(connection) {
  connection_.exec(begin);
}

Transaction::~Transaction() {
  if (open_) {
    try {
      connection_.exec("ROLLBACK");
    } catch (const StoreError&) {
      // The transaction is gone either way (SQLite rolls back on a failed statement).
    }
  }
}

void Transaction::commit() {
  connection_.exec("COMMIT");
  open_ = false;
}

}  // namespace kite::controlplane::sqlite
