// The record dvs keeps for each video, and its JSON form (used by the etcd
// backend's values, the SQLite rows and the HTTP API alike).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace dvs::metadata {

enum class VideoState { kProcessing, kReady, kFailed };

std::string_view VideoStateName(VideoState state);  // "processing", "ready", "failed"

struct StoredFile {
  std::string name;
  uint64_t size = 0;
  std::string sha256;  // lowercase hex
  bool operator==(const StoredFile&) const = default;
};

struct Rendition {
  int width = 0;
  int height = 0;
  int bandwidth = 0;  // bits per second, as in the manifest
  bool operator==(const Rendition&) const = default;
};

struct VideoMetadata {
  std::string id;
  std::string title;  // the uploaded file's original name
  int64_t uploaded_at_ms = 0;  // Unix time
  VideoState state = VideoState::kProcessing;
  bool playable = false;  // a manifest is served (possibly before the full ladder)
  double progress = 0;  // 0..1 of the current processing
  std::string error;  // why the video failed, for people
  double duration_s = 0;
  int width = 0;
  int height = 0;
  std::vector<Rendition> renditions;
  std::vector<StoredFile> files;
  bool operator==(const VideoMetadata&) const = default;

  // The stored file of that name, or nullptr.
  const StoredFile* FindFile(std::string_view name) const;
};

std::string ToJson(const VideoMetadata& meta);
// InvalidArgument when `json` is not a video record.
[[nodiscard]] absl::StatusOr<VideoMetadata> VideoMetadataFromJson(std::string_view json);

}  // namespace dvs::metadata
