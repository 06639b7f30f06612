// VideoMetadataService: where dvs keeps its video records and its ring state.
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
#include "metadata/video_metadata.h"

namespace dvs::metadata {

class VideoMetadataService {
 public:
  virtual ~VideoMetadataService() = default;

  // AlreadyExists when the id is taken. Atomic: of two concurrent Creates of
  // one id exactly one succeeds.
  [[nodiscard]] virtual absl::Status Create(const VideoMetadata& meta) = 0;
  // NotFound when there is no such video.
  [[nodiscard]] virtual absl::StatusOr<VideoMetadata> Read(std::string_view id) = 0;
  // The record when memory alone can answer, without blocking; nullptr
  // otherwise (also when there is no such video). For callers on an I/O
  // thread. Backends keep nothing in memory; CachedMetadataService does.
  virtual std::shared_ptr<const VideoMetadata> ReadFromMemory(std::string_view id) {
    return nullptr;
  }
  // All videos, newest first.
  [[nodiscard]] virtual absl::StatusOr<std::vector<VideoMetadata>> List() = 0;
  // Replaces the record with meta.id; NotFound when there is none.
  [[nodiscard]] virtual absl::Status Update(const VideoMetadata& meta) = 0;
  // NotFound when there is no such video.
  [[nodiscard]] virtual absl::Status Delete(std::string_view id) = 0;

  // The ring state of the network content service as an opaque document;
  // nullopt when none has been stored yet.
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>> LoadRingState() = 0;
  [[nodiscard]] virtual absl::Status StoreRingState(std::string_view state) = 0;

  // OK when the backend answers (for /readyz).
  [[nodiscard]] virtual absl::Status CheckHealth() = 0;
};

}  // namespace dvs::metadata
