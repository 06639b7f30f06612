#include "metadata/sqlite/sqlite_metadata_service.h"

#include <sqlite3.h>

#include <algorithm>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status.h"
#include "metadata/sqlite/sqlite_statement.h"

namespace dvs::metadata {
namespace {

using internal::Exec;
using internal::SqliteError;
using internal::Statement;

// Long enough to ride out another process's write (a few ms each), short
// enough that a wedged peer surfaces as Unavailable instead of a hung request.
constexpr int kBusyTimeoutMs = 5000;
constexpr char kRingKey[] = "ring";

// The schema's version, kept in PRAGMA user_version. Version 1 (user_version
// 0: the first releases did not set it) kept each record's file list inside
// its JSON; version 2 counts each row's writes for compare-and-set (`version`)
// and marks the rows still in the old form (`legacy`) until the web app has
// moved their files into file indexes. Version 3 adds the small records
// (users, tokens: SmallRecordStore), a table of their own.
constexpr int kSchemaVersion = 3;

// IF NOT EXISTS makes Open idempotent and safe when two processes open a
// fresh file at once (the schema is made inside one immediate transaction).
constexpr char kSchema[] = R"sql(
  CREATE TABLE IF NOT EXISTS videos (
    id TEXT PRIMARY KEY NOT NULL,
    uploaded_at_ms INTEGER NOT NULL,
    json TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    legacy INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX IF NOT EXISTS videos_newest_first ON videos (uploaded_at_ms DESC, id);
  CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS small_records (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
  );
)sql";

// From version 1: the new columns, and every row that still carries its
// file list marked legacy.
constexpr char kFromVersion1[] = R"sql(
  ALTER TABLE videos ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE videos ADD COLUMN legacy INTEGER NOT NULL DEFAULT 0;
  UPDATE videos SET legacy = 1 WHERE json_extract(json, '$.files') IS NOT NULL;
)sql";

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, CloseDb>;

absl::Status CreateParentFolder(const std::filesystem::path& path) {
  std::filesystem::path parent = path.parent_path();
  if (parent.empty()) return absl::OkStatus();
  std::error_code error;
  std::filesystem::create_directories(parent, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", parent.string(), ": ", error.message()));
  }
  return absl::OkStatus();
}

// Brings the schema to kSchemaVersion, in one transaction, so a crash or a
// second process never sees half of it.
absl::Status MigrateSchema(sqlite3* db) {
  RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", "begin schema change"));
  auto migrate = [db]() -> absl::Status {
    ASSIGN_OR_RETURN(Statement pragma, Statement::Prepare(db, "PRAGMA user_version"));
    ASSIGN_OR_RETURN(bool has_row, pragma.Step("read the schema version"));
    int64_t version = has_row ? pragma.ColumnInt64(0) : 0;
    if (version > kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat("sqlite: the database has schema version ",
                                                        version, ", newer than this dvs (",
                                                        kSchemaVersion, "): use a newer release"));
    }
    if (version == kSchemaVersion) return absl::OkStatus();
    ASSIGN_OR_RETURN(Statement table,
                     Statement::Prepare(db, "SELECT 1 FROM sqlite_master WHERE name = 'videos'"));
    ASSIGN_OR_RETURN(bool has_videos, table.Step("look for the videos table"));
    // Version 0 with a videos table is schema 1; from version 2 on, kSchema
    // adds what is missing.
    if (has_videos && version < 2) {
      RETURN_IF_ERROR(Exec(db, kFromVersion1, "migrate from schema version 1"));
    }
    RETURN_IF_ERROR(Exec(db, kSchema, "create schema"));
    return Exec(db, absl::StrCat("PRAGMA user_version = ", kSchemaVersion),
                "set the schema version");
  };
  absl::Status status = migrate();
  if (!status.ok()) {
    (void)Exec(db, "ROLLBACK", "roll back schema change");
    return status;
  }
  return Exec(db, "COMMIT", "commit schema change");
}

// WAL lets readers run beside the one writer (the web app reads the list
// while processing updates records). synchronous=FULL fsyncs the WAL on every
// commit: with NORMAL a power cut may roll back the last commits, and a video
// whose upload was already answered would vanish while its files stay on disk.
// Writes are a handful per upload, so the extra fsync costs nothing visible.
absl::Status Configure(sqlite3* db) {
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  {
    // Finalized before the schema's transaction: COMMIT fails while a
    // statement is still stepping.
    ASSIGN_OR_RETURN(Statement wal, Statement::Prepare(db, "PRAGMA journal_mode=WAL"));
    ASSIGN_OR_RETURN(bool has_row, wal.Step("set journal_mode"));
    if (!has_row || wal.ColumnText(0) != "wal") {
      return absl::FailedPreconditionError("sqlite: the database cannot use WAL mode");
    }
  }
  RETURN_IF_ERROR(Exec(db, "PRAGMA synchronous=FULL", "set synchronous"));
  return MigrateSchema(db);
}

absl::Status NoSuchVideo(std::string_view id) {
  return absl::NotFoundError(absl::StrCat("no video with id \"", std::string(id), "\""));
}

// Rows hold only what RecordJson wrote, so one that does not parse was
// damaged. Columns: json, version.
absl::StatusOr<VideoMetadata> ParseRow(const Statement& row) {
  absl::StatusOr<VideoMetadata> meta = VideoMetadataFromJson(row.ColumnText(0));
  if (!meta.ok())
    return absl::DataLossError(absl::StrCat("sqlite: damaged row: ", meta.status().message()));
  meta->revision = row.ColumnInt64(1);
  return meta;
}

// Rows of the newest first order after a position, one more than a page
// holds so that the page knows whether another follows.
constexpr char kFirstPage[] =
    "SELECT json, version FROM videos ORDER BY uploaded_at_ms DESC, id LIMIT ?3";
constexpr char kPageAfter[] =
    "SELECT json, version FROM videos WHERE uploaded_at_ms <= ?1 "
    "AND (uploaded_at_ms < ?1 OR id > ?2) ORDER BY uploaded_at_ms DESC, id LIMIT ?3";

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteMetadataService>> SqliteMetadataService::Open(
    const std::filesystem::path& path) {
  RETURN_IF_ERROR(CreateParentFolder(path));
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbHandle db(raw);  // sqlite3_open_v2 may hand back a handle even on failure
  if (rc != SQLITE_OK) return SqliteError(db.get(), rc, "open");
  absl::Status configured = Configure(db.get());
  if (!configured.ok()) {
    return absl::Status(configured.code(), absl::StrCat(path.string(), ": ", configured.message()));
  }
  return std::unique_ptr<SqliteMetadataService>(new SqliteMetadataService(db.release()));
}

SqliteMetadataService::SqliteMetadataService(sqlite3* db) : db_(db) {}

SqliteMetadataService::~SqliteMetadataService() { sqlite3_close_v2(db_); }

absl::StatusOr<int64_t> SqliteMetadataService::Create(const VideoMetadata& meta) {
  RETURN_IF_ERROR(common::ValidateName(meta.id, "video id"));
  ASSIGN_OR_RETURN(std::string json, RecordJson(meta));
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(Statement insert,
                   Statement::Prepare(db_,
                                      "INSERT INTO videos (id, uploaded_at_ms, json, version) "
                                      "VALUES (?1, ?2, ?3, 1)"));
  RETURN_IF_ERROR(insert.BindText(1, meta.id));
  RETURN_IF_ERROR(insert.BindInt64(2, meta.uploaded_at_ms));
  RETURN_IF_ERROR(insert.BindText(3, json));
  absl::StatusOr<bool> stepped = insert.Step("insert video");
  // The primary key is what makes Create atomic, across threads and processes.
  if (!stepped.ok() && sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return absl::AlreadyExistsError(absl::StrCat("video id \"", meta.id, "\" is taken"));
  }
  RETURN_IF_ERROR(stepped.status());
  return 1;
}

absl::StatusOr<VideoMetadata> SqliteMetadataService::Read(std::string_view id) {
  RETURN_IF_ERROR(common::ValidateName(id, "video id"));
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(Statement select,
                   Statement::Prepare(db_, "SELECT json, version FROM videos WHERE id = ?1"));
  RETURN_IF_ERROR(select.BindText(1, id));
  ASSIGN_OR_RETURN(bool found, select.Step("read video"));
  if (!found) return NoSuchVideo(id);
  return ParseRow(select);
}

absl::StatusOr<VideoPage> SqliteMetadataService::List(std::string_view cursor, size_t limit) {
  std::optional<ListPosition> after;
  if (!cursor.empty()) {
    ASSIGN_OR_RETURN(after, ParseListCursor(cursor));
  }
  limit = std::max<size_t>(limit, 1);
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(Statement select,
                   Statement::Prepare(db_, after.has_value() ? kPageAfter : kFirstPage));
  if (after.has_value()) {
    RETURN_IF_ERROR(select.BindInt64(1, after->uploaded_at_ms));
    RETURN_IF_ERROR(select.BindText(2, after->id));
  }
  RETURN_IF_ERROR(select.BindInt64(3, static_cast<int64_t>(limit) + 1));
  VideoPage page;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, select.Step("list videos"));
    if (!has_row) break;
    if (page.videos.size() == limit) {
      page.next_cursor = ListCursorAfter(page.videos.back());
      break;
    }
    ASSIGN_OR_RETURN(VideoMetadata meta, ParseRow(select));
    page.videos.push_back(std::move(meta));
  }
  return page;
}

absl::StatusOr<int64_t> SqliteMetadataService::Update(const VideoMetadata& meta) {
  RETURN_IF_ERROR(common::ValidateName(meta.id, "video id"));
  ASSIGN_OR_RETURN(std::string json, RecordJson(meta));
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(Statement update,
                   Statement::Prepare(db_,
                                      "UPDATE videos SET uploaded_at_ms = ?3, json = ?4, "
                                      "version = version + 1, legacy = 0 "
                                      "WHERE id = ?1 AND version = ?2"));
  RETURN_IF_ERROR(update.BindText(1, meta.id));
  RETURN_IF_ERROR(update.BindInt64(2, meta.revision));
  RETURN_IF_ERROR(update.BindInt64(3, meta.uploaded_at_ms));
  RETURN_IF_ERROR(update.BindText(4, json));
  RETURN_IF_ERROR(update.Step("update video").status());
  if (update.Changes() == 1) return meta.revision + 1;
  ASSIGN_OR_RETURN(Statement exists,
                   Statement::Prepare(db_, "SELECT version FROM videos WHERE id = ?1"));
  RETURN_IF_ERROR(exists.BindText(1, meta.id));
  ASSIGN_OR_RETURN(bool found, exists.Step("read video version"));
  if (!found) return NoSuchVideo(meta.id);
  return absl::AbortedError(absl::StrCat("video \"", meta.id, "\" was changed (version ",
                                         exists.ColumnInt64(0), ", not ", meta.revision,
                                         ") since it was read"));
}

absl::Status SqliteMetadataService::Delete(std::string_view id) {
  RETURN_IF_ERROR(common::ValidateName(id, "video id"));
  {
    std::lock_guard<std::mutex> lock(progress_mutex_);
    progress_.erase(std::string(id));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(Statement remove, Statement::Prepare(db_, "DELETE FROM videos WHERE id = ?1"));
  RETURN_IF_ERROR(remove.BindText(1, id));
  RETURN_IF_ERROR(remove.Step("delete video").status());
  return remove.Changes() == 0 ? NoSuchVideo(id) : absl::OkStatus();
}

absl::Status SqliteMetadataService::PublishProgress(std::string_view id, double progress) {
  std::lock_guard<std::mutex> lock(progress_mutex_);
  progress_[std::string(id)] = progress;
  return absl::OkStatus();
}

std::optional<double> SqliteMetadataService::ReadProgress(std::string_view id) {
  std::lock_guard<std::mutex> lock(progress_mutex_);
  auto found = progress_.find(std::string(id));
  if (found == progress_.end()) return std::nullopt;
  return found->second;
}

absl::StatusOr<std::vector<VideoMetadataService::LegacyRecord>> SqliteMetadataService::ListLegacy(
    std::string_view after_id, size_t limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(Statement select,
                   Statement::Prepare(db_,
                                      "SELECT json, version FROM videos WHERE legacy = 1 "
                                      "AND id > ?1 ORDER BY id LIMIT ?2"));
  RETURN_IF_ERROR(select.BindText(1, after_id));
  RETURN_IF_ERROR(select.BindInt64(2, static_cast<int64_t>(std::max<size_t>(limit, 1))));
  std::vector<LegacyRecord> records;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, select.Step("list legacy videos"));
    if (!has_row) break;
    ASSIGN_OR_RETURN(VideoMetadata meta, ParseRow(select));
    ASSIGN_OR_RETURN(std::optional<std::vector<StoredFile>> files,
                     LegacyFilesFromJson(select.ColumnText(0)));
    records.push_back({std::move(meta), files.value_or(std::vector<StoredFile>())});
  }
  return records;
}

absl::StatusOr<std::optional<std::string>> SqliteMetadataService::LoadRingState() {
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(Statement select,
                   Statement::Prepare(db_, "SELECT value FROM kv WHERE key = ?1"));
  RETURN_IF_ERROR(select.BindText(1, kRingKey));
  ASSIGN_OR_RETURN(bool found, select.Step("load ring state"));
  if (!found) return std::optional<std::string>();
  return std::optional<std::string>(select.ColumnText(0));
}

absl::Status SqliteMetadataService::StoreRingState(std::string_view state) {
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(Statement upsert,
                   Statement::Prepare(db_,
                                      "INSERT INTO kv (key, value) VALUES (?1, ?2) "
                                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
  RETURN_IF_ERROR(upsert.BindText(1, kRingKey));
  RETURN_IF_ERROR(upsert.BindText(2, state));
  return upsert.Step("store ring state").status();
}

// Runs a real query, so a locked or damaged database is noticed, not just an
// open handle.
absl::Status SqliteMetadataService::CheckHealth() {
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(Statement probe, Statement::Prepare(db_, "SELECT 1 FROM videos LIMIT 1"));
  return probe.Step("health check").status();
}

}  // namespace dvs::metadata
