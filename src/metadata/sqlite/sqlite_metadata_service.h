// The embedded metadata backend: one SQLite database file in WAL mode.
// Safe for concurrent use from many threads (one connection behind a mutex;
// SQLite's primary key makes Create atomic, also across processes).
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

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

  absl::Status Create(const VideoMetadata& meta) override;
  absl::StatusOr<VideoMetadata> Read(std::string_view id) override;
  absl::StatusOr<std::vector<VideoMetadata>> List() override;
  absl::Status Update(const VideoMetadata& meta) override;
  absl::Status Delete(std::string_view id) override;
  absl::StatusOr<std::optional<std::string>> LoadRingState() override;
  absl::Status StoreRingState(std::string_view state) override;
  absl::Status CheckHealth() override;

 private:
  explicit SqliteMetadataService(sqlite3* db);

  std::mutex mutex_;
  sqlite3* db_;  // GUARDED_BY(mutex_)
};

}  // namespace dvs::metadata
