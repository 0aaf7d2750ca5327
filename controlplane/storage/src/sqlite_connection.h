#pragma once
// A thin RAII layer over one SQLite connection: prepared statements cached per connection,
// blob binding for keys and values, and SQLite failures turned into StoreError naming the
// database file.

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "kite/controlplane/store.h"

namespace kite::controlplane::sqlite {

// Throws the StoreError for SQLite result code `rc` ("<file>: <what>: <sqlite message>").
[[noreturn]] void throwError(int rc, sqlite3* db, const std::string& file, std::string_view what);

// A cached statement borrowed from its Connection; reset (and its bindings cleared) when
// this handle goes away, so the next user starts clean.
class Statement {
 public:
  Statement(sqlite3_stmt* stmt, const std::string& file);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;

  // Keys and values are bound as blobs so SQLite compares them bytewise (memcmp order) and
  // keeps NUL bytes; an empty string is an empty blob, never NULL.
  Statement& bindBlob(int index, std::string_view bytes);
  Statement& bindText(int index, std::string_view text);
  Statement& bindInt(int index, std::int64_t value);

  // Steps once: true when a row is available.
  bool step();
  // Steps to the end of a statement that returns no rows.
  void run();

  std::int64_t intColumn(int column) const;
  std::string blobColumn(int column) const;

 private:
  sqlite3_stmt* stmt_;
  const std::string* file_;
};

class Connection {
 public:
  // Opens (creating when `create`) the database file. Every connection is used by one
  // thread at a time, so SQLite's per-connection mutex is off.
  Connection(const std::filesystem::path& path, bool create);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs SQL without results (several statements allowed).
  void exec(const std::string& sql);
  // The statement for this SQL, prepared once per connection.
  Statement prepare(const std::string& sql);
  // A single integer from a one-row query (a PRAGMA, a COUNT).
  std::int64_t queryInt(const std::string& sql);
  std::string queryText(const std::string& sql);

  const std::string& file() const { return file_; }
  // True while a transaction is open (a connection going back to a pool must not be).
  bool inTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

 private:
  struct StatementDeleter {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
  };
  std::string file_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, StatementDeleter>> statements_;
};

// Ends a transaction on scope exit: rolls back unless commit() ran. Read transactions
// simply end here (a rollback of a read-only transaction releases its snapshot).
class Transaction {
 public:
  Transaction(Connection& connection, const char* begin);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& connection_;
  bool open_ = true;
};

}  // namespace kite::controlplane::sqlite
