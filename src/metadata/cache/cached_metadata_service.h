// CachedMetadataService: video records kept in memory in front of a metadata
// backend that only this process writes (the embedded SQLite database).
//
// Read answers from memory after the first time, and ReadFromMemory answers
// only from memory, so the web server can serve hot files on its I/O thread
// without ever blocking on the database. Every write through this service
// drops the record it touches before it returns, so a Read after a write
// sees the write. A record read from the backend while a write was under way
// is not kept: it may be older than the write. Absent videos are not cached.
// Past max_entries the least recently used record is dropped. Lists,
// progress, the ring state and small records always go to the backend.
//
// Writes made by other processes are not seen: a backend shared by several
// web servers (etcd) needs them to drop records too, which this class does
// not do.
//
// Thread-safe: mutex_ guards the records; a record handed out is immutable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "metadata/metadata_service.h"

namespace dvs::metadata {

class CachedMetadataService final : public VideoMetadataService {
 public:
  static constexpr size_t kDefaultMaxEntries = 4096;

  explicit CachedMetadataService(std::unique_ptr<VideoMetadataService> backend,
                                 size_t max_entries = kDefaultMaxEntries);

  absl::StatusOr<int64_t> Create(const VideoMetadata& meta) override;
  absl::StatusOr<VideoMetadata> Read(std::string_view id) override;
  std::shared_ptr<const VideoMetadata> ReadFromMemory(std::string_view id) override;
  absl::StatusOr<VideoPage> List(std::string_view cursor, size_t limit) override;
  absl::StatusOr<int64_t> Update(const VideoMetadata& meta) override;
  absl::Status Delete(std::string_view id) override;
  absl::Status PublishProgress(std::string_view id, double progress) override;
  std::optional<double> ReadProgress(std::string_view id) override;
  absl::StatusOr<std::vector<LegacyRecord>> ListLegacy(std::string_view after_id,
                                                       size_t limit) override;
  absl::StatusOr<std::optional<std::string>> LoadRingState() override;
  absl::Status StoreRingState(std::string_view state) override;
  absl::Status CheckHealth() override;
  // Small records are passed through, never kept.
  absl::StatusOr<SmallRecord> ReadSmall(std::string_view kind, std::string_view key) override {
    return backend_->ReadSmall(kind, key);
  }
  absl::StatusOr<int64_t> WriteSmall(std::string_view kind, std::string_view key,
                                     std::string_view value, int64_t expected_revision) override {
    return backend_->WriteSmall(kind, key, value, expected_revision);
  }
  absl::Status DeleteSmall(std::string_view kind, std::string_view key) override {
    return backend_->DeleteSmall(kind, key);
  }
  absl::Status DeleteSmallAt(std::string_view kind, std::string_view key,
                             int64_t expected_revision) override {
    return backend_->DeleteSmallAt(kind, key, expected_revision);
  }
  absl::StatusOr<SmallRecordPage> ListSmall(std::string_view kind, std::string_view after_key,
                                            size_t limit) override {
    return backend_->ListSmall(kind, after_key, limit);
  }

  size_t entries() const;

 private:
  using Record = std::shared_ptr<const VideoMetadata>;

  // Drops `id` and marks every backend read that started before as too old
  // to keep; called before and after each write.
  void Forget(std::string_view id);
  void Keep(Record record, uint64_t writes_at_read);
  // The record of `id`, moved to the front of the recency list; nullptr when
  // not kept. Call with mutex_ held.
  Record Touch(std::string_view id);

  const std::unique_ptr<VideoMetadataService> backend_;
  const size_t max_entries_;
  mutable std::mutex mutex_;
  // State below is protected by mutex_.
  // Looked up by string_view, without building a string per request.
  struct Hash : std::hash<std::string_view> {
    using is_transparent = void;
  };
  struct Entry {
    Record record;
    std::list<std::string>::iterator position;  // in recency_
  };
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> records_;
  std::list<std::string> recency_;  // ids, most recently used first
  uint64_t writes_ = 0;             // counts the writes begun and ended
};

}  // namespace dvs::metadata
