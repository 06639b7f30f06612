// Private to the SQLite backend: one prepared-statement wrapper and the
// mapping of SQLite result codes to canonical codes, shared by the files of
// SqliteMetadataService. A Statement is used by one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::metadata::internal {

// The most specific canonical code for an SQLite result code, with SQLite's
// own message so the operator sees what the library saw.
absl::Status SqliteError(sqlite3* db, int rc, const char* what);

absl::Status Exec(sqlite3* db, const std::string& sql, const char* what);

// One prepared statement, finalized when it goes out of scope. Used by one
// thread at a time (the service's mutex is held while it lives).
class Statement {
 public:
  static absl::StatusOr<Statement> Prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db, rc, "prepare");
    return Statement(db, stmt);
  }
  Statement(Statement&& other) noexcept
      : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  // Binds copies of the bytes: the statement may outlive the caller's buffer.
  [[nodiscard]] absl::Status BindText(int index, std::string_view text) {
    return Check(
        sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
        "bind");
  }
  [[nodiscard]] absl::Status BindInt64(int index, int64_t value) {
    return Check(sqlite3_bind_int64(stmt_, index, value), "bind");
  }
  // True when a row is ready, false when the statement has finished.
  [[nodiscard]] absl::StatusOr<bool> Step(const char* what) {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, rc, what);
  }
  int64_t ColumnInt64(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string ColumnText(int column) const {
    const void* text = sqlite3_column_blob(stmt_, column);
    int size = sqlite3_column_bytes(stmt_, column);
    return text == nullptr ? std::string() : std::string(static_cast<const char*>(text), size);
  }
  int Changes() const { return sqlite3_changes(db_); }

 private:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  absl::Status Check(int rc, const char* what) {
    return rc == SQLITE_OK ? absl::OkStatus() : SqliteError(db_, rc, what);
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

}  // namespace dvs::metadata::internal
