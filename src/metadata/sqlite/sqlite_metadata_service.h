// The embedded metadata backend: one SQLite database file in WAL mode, with
// a schema version; Open brings a file of an older release up to date.
// Safe for concurrent use from many threads (one connection behind a mutex;
// SQLite's primary key makes Create atomic, also across processes).
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "metadata/metadata_service.h"

struct sqlite3;

namespace dvs::metadata {

class SqliteMetadataService final : public VideoMetadataService {
 public:
  // Opens or creates the database (and its parent folder) and its schema.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SqliteMetadataService>> Open(
      const std::filesystem::path& path);
  ~SqliteMetadataService() override;

  absl::StatusOr<int64_t> Create(const VideoMetadata& meta) override;
  absl::StatusOr<VideoMetadata> Read(std::string_view id) override;
  absl::StatusOr<VideoPage> List(std::string_view cursor, size_t limit) override;
  absl::StatusOr<int64_t> Update(const VideoMetadata& meta) override;
  absl::Status Delete(std::string_view id) override;
  // In memory: one process owns the database.
  absl::Status PublishProgress(std::string_view id, double progress) override;
  std::optional<double> ReadProgress(std::string_view id) override;
  absl::StatusOr<std::vector<LegacyRecord>> ListLegacy(std::string_view after_id,
                                                       size_t limit) override;
  absl::StatusOr<std::optional<std::string>> LoadRingState() override;
  absl::Status StoreRingState(std::string_view state) override;
  absl::Status CheckHealth() override;
  // sqlite_small_records.cc
  absl::StatusOr<SmallRecord> ReadSmall(std::string_view kind, std::string_view key) override;
  absl::StatusOr<int64_t> WriteSmall(std::string_view kind, std::string_view key,
                                     std::string_view value, int64_t expected_revision) override;
  absl::Status DeleteSmall(std::string_view kind, std::string_view key) override;
  absl::Status DeleteSmallAt(std::string_view kind, std::string_view key,
                             int64_t expected_revision) override;
  absl::StatusOr<SmallRecordPage> ListSmall(std::string_view kind, std::string_view after_key,
                                            size_t limit) override;

 private:
  explicit SqliteMetadataService(sqlite3* db);

  std::mutex mutex_;
  sqlite3* db_;  // GUARDED_BY(mutex_)
  std::mutex progress_mutex_;
  std::unordered_map<std::string, double> progress_;  // GUARDED_BY(progress_mutex_)
};

}  // namespace dvs::metadata
