#include "storage/blob_index.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"

namespace dvs::storage {
namespace {

constexpr char kSchema[] = R"sql(
  PRAGMA journal_mode = WAL;
  PRAGMA synchronous = FULL;
  CREATE TABLE IF NOT EXISTS blobs (
    key TEXT PRIMARY KEY,
    video_id TEXT NOT NULL,  -- the key's folder: see FolderOf
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    block_sha256 TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS blobs_by_video ON blobs (video_id, key);
  CREATE TABLE IF NOT EXISTS pending (key TEXT PRIMARY KEY) WITHOUT ROWID;
)sql";

absl::Status SqliteError(sqlite3* db, std::string_view what) {
  return absl::InternalError(
      absl::StrCat("index ", common::AsAbsl(what), ": ", sqlite3_errmsg(db)));
}

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  Statement& Bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int index, uint64_t value) {
    sqlite3_bind_int64(stmt_, index, static_cast<sqlite3_int64>(value));
    return *this;
  }
  // SQLITE_ROW or SQLITE_DONE; anything else is an error.
  int Step() { return sqlite3_step(stmt_); }
  std::string Text(int column) {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text == nullptr ? std::string()
                           : std::string(reinterpret_cast<const char*>(text),
                                         sqlite3_column_bytes(stmt_, column));
  }
  uint64_t Int(int column) { return static_cast<uint64_t>(sqlite3_column_int64(stmt_, column)); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

absl::Status RunToDone(sqlite3* db, Statement& statement, std::string_view what) {
  if (!statement.ok() || statement.Step() != SQLITE_DONE) return SqliteError(db, what);
  return absl::OkStatus();
}

// The key's folder (all before its last '/'), kept in the column still named
// video_id: for the legacy keys "video_id/filename" the two are the same, so
// index.db files written before folders had generations need no migration.
std::string_view FolderOf(std::string_view key) { return key.substr(0, key.rfind('/')); }

}  // namespace

absl::StatusOr<std::unique_ptr<BlobIndex>> BlobIndex::Open(const std::filesystem::path& db_path) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(db_path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    absl::Status error = SqliteError(db, absl::StrCat("cannot open ", db_path.string()));
    sqlite3_close(db);
    return error;
  }
  std::unique_ptr<BlobIndex> index(new BlobIndex(db));
  sqlite3_busy_timeout(db, 5000);
  std::lock_guard lock(index->mutex_);
  RETURN_IF_ERROR(index->ExecLocked(kSchema));
  return index;
}

BlobIndex::BlobIndex(sqlite3* db) : db_(db) {}

BlobIndex::~BlobIndex() { sqlite3_close(db_); }

absl::Status BlobIndex::ExecLocked(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    absl::Status status = absl::InternalError(absl::StrCat("index: ", error ? error : "?"));
    sqlite3_free(error);
    return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<IndexEntry>> BlobIndex::Find(std::string_view key) {
  std::lock_guard lock(mutex_);
  Statement find(db_, "SELECT size, sha256, block_sha256 FROM blobs WHERE key = ?");
  if (!find.ok()) return SqliteError(db_, "find");
  find.Bind(1, key);
  int rc = find.Step();
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) return SqliteError(db_, "find");
  return IndexEntry{BlobInfo{std::string(key), find.Int(0), find.Text(1)}, find.Text(2)};
}

absl::Status BlobIndex::Upsert(const IndexEntry& entry) {
  std::lock_guard lock(mutex_);
  RETURN_IF_ERROR(ExecLocked("BEGIN IMMEDIATE"));
  Statement put(db_,
                "INSERT OR REPLACE INTO blobs (key, video_id, size, sha256, block_sha256) "
                "VALUES (?, ?, ?, ?, ?)");
  put.Bind(1, entry.blob.key).Bind(2, FolderOf(entry.blob.key)).Bind(3, entry.blob.size);
  put.Bind(4, entry.blob.sha256).Bind(5, entry.block_sha256);
  Statement unmark(db_, "DELETE FROM pending WHERE key = ?");
  unmark.Bind(1, entry.blob.key);
  absl::Status status = RunToDone(db_, put, "upsert");
  if (status.ok()) status = RunToDone(db_, unmark, "upsert");
  if (!status.ok()) {
    (void)ExecLocked("ROLLBACK");  // the original error is the one to report
    return status;
  }
  return ExecLocked("COMMIT");
}

absl::Status BlobIndex::Remove(std::string_view key) {
  std::lock_guard lock(mutex_);
  RETURN_IF_ERROR(ExecLocked("BEGIN IMMEDIATE"));
  Statement remove(db_, "DELETE FROM blobs WHERE key = ?");
  remove.Bind(1, key);
  Statement unmark(db_, "DELETE FROM pending WHERE key = ?");
  unmark.Bind(1, key);
  absl::Status status = RunToDone(db_, remove, "remove");
  if (status.ok()) status = RunToDone(db_, unmark, "remove");
  if (!status.ok()) {
    (void)ExecLocked("ROLLBACK");  // the original error is the one to report
    return status;
  }
  return ExecLocked("COMMIT");
}

absl::Status BlobIndex::MarkPending(std::string_view key) {
  std::lock_guard lock(mutex_);
  Statement mark(db_, "INSERT OR IGNORE INTO pending (key) VALUES (?)");
  mark.Bind(1, key);
  return RunToDone(db_, mark, "mark pending");
}

absl::StatusOr<std::vector<std::string>> BlobIndex::PendingKeys() {
  std::lock_guard lock(mutex_);
  Statement list(db_, "SELECT key FROM pending ORDER BY key");
  if (!list.ok()) return SqliteError(db_, "pending keys");
  std::vector<std::string> keys;
  int rc;
  while ((rc = list.Step()) == SQLITE_ROW) keys.push_back(list.Text(0));
  if (rc != SQLITE_DONE) return SqliteError(db_, "pending keys");
  return keys;
}

absl::StatusOr<std::vector<BlobInfo>> BlobIndex::ListPage(std::string_view folder,
                                                          std::string_view after, size_t limit) {
  std::lock_guard lock(mutex_);
  Statement list(db_, folder.empty()
                          ? "SELECT key, size, sha256 FROM blobs WHERE key > ?1 "
                            "ORDER BY key LIMIT ?3"
                          : "SELECT key, size, sha256 FROM blobs WHERE video_id = ?2 AND key > ?1 "
                            "ORDER BY key LIMIT ?3");
  if (!list.ok()) return SqliteError(db_, "list");
  list.Bind(1, after).Bind(3, static_cast<uint64_t>(limit));
  if (!folder.empty()) list.Bind(2, folder);
  std::vector<BlobInfo> page;
  int rc;
  while ((rc = list.Step()) == SQLITE_ROW) {
    page.push_back(BlobInfo{list.Text(0), list.Int(1), list.Text(2)});
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "list");
  return page;
}

absl::StatusOr<IndexTotals> BlobIndex::Totals() {
  std::lock_guard lock(mutex_);
  Statement totals(db_, "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM blobs");
  if (!totals.ok() || totals.Step() != SQLITE_ROW) return SqliteError(db_, "totals");
  return IndexTotals{totals.Int(0), totals.Int(1)};
}

}  // namespace dvs::storage
