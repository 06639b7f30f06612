// SqliteMetadataService's small records (SmallRecordStore): one table keyed
// by (kind, key). A row's version is drawn from one counter for the whole
// store (the kv row kSmallRecordClock), so like etcd's mod revisions it only
// ever rises: a record deleted and created anew never gets back a version a
// stale reader still holds. The counter starts above the largest version of
// a database written before it existed.
#include <algorithm>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "metadata/sqlite/sqlite_metadata_service.h"
#include "metadata/sqlite/sqlite_statement.h"

namespace dvs::metadata {
namespace {

using internal::Exec;
using internal::Statement;

constexpr char kSmallRecordClock[] = "small_record_clock";

absl::Status NoSuchRecord(std::string_view kind, std::string_view key) {
  return absl::NotFoundError(
      absl::StrCat("no ", common::AsAbsl(kind), " \"", common::AsAbsl(key), "\""));
}

absl::Status Conflict(std::string_view kind, std::string_view key, int64_t expected) {
  return absl::AbortedError(
      absl::StrCat("the ", common::AsAbsl(kind), " \"", common::AsAbsl(key), "\" ",
                   expected == 0 ? "exists already" : "was changed or removed since it was read"));
}

// The next version of the store's counter; called inside the write's
// transaction.
absl::StatusOr<int64_t> NextVersion(sqlite3* db) {
  ASSIGN_OR_RETURN(Statement bump,
                   Statement::Prepare(db,
                                      "INSERT INTO kv (key, value) VALUES (?1, "
                                      "(SELECT COALESCE(MAX(version), 0) + 1 FROM small_records)) "
                                      "ON CONFLICT (key) DO UPDATE SET value = "
                                      "CAST(value AS INTEGER) + 1 RETURNING CAST(value AS INTEGER)"));
  RETURN_IF_ERROR(bump.BindText(1, kSmallRecordClock));
  ASSIGN_OR_RETURN(bool has_row, bump.Step("advance the record version"));
  if (!has_row) return absl::InternalError("the record version counter returned no row");
  return bump.ColumnInt64(0);
}

// An insert for "must not exist" (the primary key decides between racers),
// else an update guarded by the version read; both with a fresh version.
absl::StatusOr<int64_t> WriteVersioned(sqlite3* db, std::string_view kind, std::string_view key,
                                       std::string_view value, int64_t expected_revision) {
  ASSIGN_OR_RETURN(int64_t version, NextVersion(db));
  const char* sql = expected_revision == 0
                        ? "INSERT INTO small_records (kind, key, value, version) "
                          "VALUES (?1, ?2, ?3, ?5) ON CONFLICT DO NOTHING"
                        : "UPDATE small_records SET value = ?3, version = ?5 "
                          "WHERE kind = ?1 AND key = ?2 AND version = ?4";
  ASSIGN_OR_RETURN(Statement write, Statement::Prepare(db, sql));
  RETURN_IF_ERROR(write.BindText(1, kind));
  RETURN_IF_ERROR(write.BindText(2, key));
  RETURN_IF_ERROR(write.BindText(3, value));
  if (expected_revision != 0) RETURN_IF_ERROR(write.BindInt64(4, expected_revision));
  RETURN_IF_ERROR(write.BindInt64(5, version));
  RETURN_IF_ERROR(write.Step("write record").status());
  if (write.Changes() != 1) return Conflict(kind, key, expected_revision);
  return version;
}

}  // namespace

absl::StatusOr<SmallRecord> SqliteMetadataService::ReadSmall(std::string_view kind,
                                                             std::string_view key) {
  RETURN_IF_ERROR(ValidateSmallRecord(kind, key));
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(Statement select, Statement::Prepare(db_,
                                                        "SELECT value, version FROM small_records "
                                                        "WHERE kind = ?1 AND key = ?2"));
  RETURN_IF_ERROR(select.BindText(1, kind));
  RETURN_IF_ERROR(select.BindText(2, key));
  ASSIGN_OR_RETURN(bool found, select.Step("read record"));
  if (!found) return NoSuchRecord(kind, key);
  return SmallRecord{std::string(key), select.ColumnText(0), select.ColumnInt64(1)};
}

absl::StatusOr<int64_t> SqliteMetadataService::WriteSmall(std::string_view kind,
                                                          std::string_view key,
                                                          std::string_view value,
                                                          int64_t expected_revision) {
  RETURN_IF_ERROR(ValidateSmallRecord(kind, key, value));
  std::lock_guard<std::mutex> lock(mutex_);
  RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", "begin record write"));
  absl::StatusOr<int64_t> version = WriteVersioned(db_, kind, key, value, expected_revision);
  if (!version.ok()) {
    (void)Exec(db_, "ROLLBACK", "roll back record write");
    return version.status();
  }
  RETURN_IF_ERROR(Exec(db_, "COMMIT", "commit record write"));
  return version;
}

absl::Status SqliteMetadataService::DeleteSmall(std::string_view kind, std::string_view key) {
  RETURN_IF_ERROR(ValidateSmallRecord(kind, key));
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(
      Statement remove,
      Statement::Prepare(db_, "DELETE FROM small_records WHERE kind = ?1 AND key = ?2"));
  RETURN_IF_ERROR(remove.BindText(1, kind));
  RETURN_IF_ERROR(remove.BindText(2, key));
  RETURN_IF_ERROR(remove.Step("delete record").status());
  return remove.Changes() == 0 ? NoSuchRecord(kind, key) : absl::OkStatus();
}

absl::Status SqliteMetadataService::DeleteSmallAt(std::string_view kind, std::string_view key,
                                                  int64_t expected_revision) {
  RETURN_IF_ERROR(ValidateSmallRecord(kind, key));
  if (expected_revision <= 0) return absl::InvalidArgumentError("a revision is > 0");
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(Statement remove,
                   Statement::Prepare(db_,
                                      "DELETE FROM small_records "
                                      "WHERE kind = ?1 AND key = ?2 AND version = ?3"));
  RETURN_IF_ERROR(remove.BindText(1, kind));
  RETURN_IF_ERROR(remove.BindText(2, key));
  RETURN_IF_ERROR(remove.BindInt64(3, expected_revision));
  RETURN_IF_ERROR(remove.Step("delete record").status());
  if (remove.Changes() == 1) return absl::OkStatus();
  ASSIGN_OR_RETURN(
      Statement select,
      Statement::Prepare(db_, "SELECT 1 FROM small_records WHERE kind = ?1 AND key = ?2"));
  RETURN_IF_ERROR(select.BindText(1, kind));
  RETURN_IF_ERROR(select.BindText(2, key));
  ASSIGN_OR_RETURN(bool found, select.Step("read record"));
  return found ? Conflict(kind, key, expected_revision) : NoSuchRecord(kind, key);
}

absl::StatusOr<SmallRecordPage> SqliteMetadataService::ListSmall(std::string_view kind,
                                                                 std::string_view after_key,
                                                                 size_t limit) {
  RETURN_IF_ERROR(ValidateSmallRecord(kind, "x"));
  limit = std::max<size_t>(limit, 1);
  std::lock_guard<std::mutex> lock(mutex_);
  ASSIGN_OR_RETURN(Statement select,
                   Statement::Prepare(db_,
                                      "SELECT key, value, version FROM small_records "
                                      "WHERE kind = ?1 AND key > ?2 ORDER BY key LIMIT ?3"));
  RETURN_IF_ERROR(select.BindText(1, kind));
  RETURN_IF_ERROR(select.BindText(2, after_key));
  RETURN_IF_ERROR(select.BindInt64(3, static_cast<int64_t>(limit) + 1));
  SmallRecordPage page;
  while (true) {
    ASSIGN_OR_RETURN(bool has_row, select.Step("list records"));
    if (!has_row) break;
    if (page.records.size() == limit) {
      page.more = true;
      break;
    }
    page.records.push_back({select.ColumnText(0), select.ColumnText(1), select.ColumnInt64(2)});
  }
  return page;
}

}  // namespace dvs::metadata
