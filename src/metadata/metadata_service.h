// VideoMetadataService: where dvs keeps its video records, their progress,
// its ring state and small records of their own (users, tokens:
// SmallRecordStore).
// Implementations: sqlite/ (embedded) and etcd/ (cluster). Every method is
// safe to call from many threads at once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "metadata/small_record_store.h"
#include "metadata/video_metadata.h"

namespace dvs::metadata {

class VideoMetadataService : public SmallRecordStore {
 public:
  virtual ~VideoMetadataService() = default;

  // AlreadyExists when the id is taken. Atomic: of two concurrent Creates of
  // one id exactly one succeeds. InvalidArgument for a record over
  // kMaxRecordBytes. Returns the new record's revision.
  [[nodiscard]] virtual absl::StatusOr<int64_t> Create(const VideoMetadata& meta) = 0;
  // NotFound when there is no such video.
  [[nodiscard]] virtual absl::StatusOr<VideoMetadata> Read(std::string_view id) = 0;
  // The record when memory alone can answer, without blocking; nullptr
  // otherwise (also when there is no such video). For callers on an I/O
  // thread. Backends that keep nothing in memory answer nullptr.
  virtual std::shared_ptr<const VideoMetadata> ReadFromMemory(std::string_view id) {
    return nullptr;
  }
  // One page of the videos listed after `cursor` (empty: from the newest),
  // newest first (ListsBefore), at most `limit` (at least 1) of them. A walk
  // page by page is stable while videos are added: none is skipped or
  // listed twice. InvalidArgument for a cursor that is not one of ours.
  [[nodiscard]] virtual absl::StatusOr<VideoPage> List(std::string_view cursor, size_t limit) = 0;
  // Replaces the record with meta.id when it is still at meta.revision:
  // Aborted when another write came in between, NotFound when it is gone.
  // Returns the new revision.
  [[nodiscard]] virtual absl::StatusOr<int64_t> Update(const VideoMetadata& meta) = 0;
  // NotFound when there is no such video. Also drops its progress.
  [[nodiscard]] virtual absl::Status Delete(std::string_view id) = 0;

  // A processing video's progress (0..1), kept apart from its record (in
  // memory with SQLite, a small key of its own with etcd) so that frequent
  // reports neither rewrite the record nor fill etcd. Callers publish at most
  // every few seconds. nullopt when none was published.
  [[nodiscard]] virtual absl::Status PublishProgress(std::string_view id, double progress) = 0;
  virtual std::optional<double> ReadProgress(std::string_view id) = 0;

  // A record written by a release before file indexes, with its file list.
  struct LegacyRecord {
    VideoMetadata meta;
    std::vector<StoredFile> files;
  };
  // Up to `limit` such records with ids after `after_id`, by id. The web app
  // moves each one's files into a file index and Updates the record, which
  // then has the current form. Empty when none is left.
  [[nodiscard]] virtual absl::StatusOr<std::vector<LegacyRecord>> ListLegacy(
      std::string_view after_id, size_t limit) = 0;

  // The ring state of the network content service as an opaque document;
  // nullopt when none has been stored yet.
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>> LoadRingState() = 0;
  [[nodiscard]] virtual absl::Status StoreRingState(std::string_view state) = 0;

  // OK when the backend answers (for /readyz).
  [[nodiscard]] virtual absl::Status CheckHealth() = 0;
};

}  // namespace dvs::metadata
