// The record dvs keeps for each video, the file index it points to, and
// their JSON forms (used by the etcd backend's values, the SQLite rows, the
// index files in the content service and the HTTP API alike).
//
// A record is small and bounded (kMaxRecordBytes whatever the video's
// length): it names its files only through a reference to its file index,
// which is written once, never changed, and stored apart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace dvs::metadata {

enum class VideoState { kProcessing, kReady, kFailed };

std::string_view VideoStateName(VideoState state);  // "processing", "ready", "failed"

enum class Visibility { kPublic, kUnlisted, kPrivate };

std::string_view VisibilityName(Visibility visibility);  // "public", "unlisted", "private"

// A stored record's encoded size may not pass this, whatever the video.
inline constexpr size_t kMaxRecordBytes = 16 * 1024;
// The error text kept in a record is cut to this many bytes.
inline constexpr size_t kMaxErrorBytes = 2048;

struct StoredFile {
  std::string name;
  uint64_t size = 0;
  std::string sha256;  // lowercase hex
  bool operator==(const StoredFile&) const = default;
};

// Every stored file of one version of a video: name, size and SHA-256,
// sorted by name, one entry per name. Immutable once made.
class FileIndex {
 public:
  FileIndex() = default;
  // Later entries of one name replace earlier ones.
  explicit FileIndex(std::vector<StoredFile> files);

  const std::vector<StoredFile>& files() const { return files_; }
  // The stored file of that name, or nullptr.
  const StoredFile* Find(std::string_view name) const;
  uint64_t total_bytes() const;
  bool operator==(const FileIndex&) const = default;

 private:
  std::vector<StoredFile> files_;
};

std::string ToJson(const FileIndex& index);
// InvalidArgument when `json` is not a file index.
[[nodiscard]] absl::StatusOr<FileIndex> FileIndexFromJson(std::string_view json);

// Where a video's file index is: a file of the video's content folder, named
// by its SHA-256, so anything cached under that hash is never stale.
struct FileIndexRef {
  std::string name;
  std::string sha256;
  uint64_t files = 0;  // how many files it lists
  bool empty() const { return name.empty(); }
  bool operator==(const FileIndexRef&) const = default;
};

// "index-<sha256>.json".
std::string FileIndexName(std::string_view sha256);

struct Rendition {
  int width = 0;
  int height = 0;
  int bandwidth = 0;  // bits per second, as in the manifest
  bool operator==(const Rendition&) const = default;
};

struct VideoMetadata {
  std::string id;
  std::string title;  // the uploaded file's original name
  std::string owner;  // the uploader's user name; empty when anonymous
  Visibility visibility = Visibility::kPublic;
  int64_t uploaded_at_ms = 0;  // Unix time; never changes after Create
  int64_t updated_at_ms = 0;
  VideoState state = VideoState::kProcessing;
  bool playable = false;  // a manifest is served (possibly before the full ladder)
  std::string error;      // why the video failed, for people
  double duration_s = 0;
  int width = 0;
  int height = 0;
  uint64_t size_bytes = 0;  // of every stored file
  std::vector<Rendition> renditions;
  std::string poster;  // the poster's file name; empty when there is none
  bool hls = false;    // master.m3u8 is stored
  // Random, fresh for each upload; the files live in the content folder
  // "<id>/<generation>". Empty only for videos stored before generations,
  // whose folder is "<id>".
  std::string generation;
  FileIndexRef index;
  // The backend's version of the record (etcd mod revision, SQLite row
  // version), set by Create, Read, List and Update; Update writes only over
  // this version. Not part of the JSON.
  int64_t revision = 0;
  bool operator==(const VideoMetadata&) const = default;

  // The folder of the video's files on the content service.
  std::string ContentFolder() const;
};

// A fresh generation: 16 random lowercase hex digits.
std::string NewGeneration();

// The record's JSON; InvalidArgument when it would pass kMaxRecordBytes.
[[nodiscard]] absl::StatusOr<std::string> RecordJson(const VideoMetadata& meta);
// The JSON without the size check (for the HTTP API).
std::string ToJson(const VideoMetadata& meta);
// The same as a JSON value, for callers that add to it before printing (the
// API's summaries: no print-and-parse round trip per video).
nlohmann::json ToJsonValue(const VideoMetadata& meta);
// InvalidArgument when `json` is not a video record. A record written before
// file indexes (with a "files" list) parses too, without its files.
[[nodiscard]] absl::StatusOr<VideoMetadata> VideoMetadataFromJson(std::string_view json);
// The "files" list of a record written before file indexes; nullopt for a
// record of the current form.
[[nodiscard]] absl::StatusOr<std::optional<std::vector<StoredFile>>> LegacyFilesFromJson(
    std::string_view json);

// A place in the newest-first order of every list: uploaded_at_ms
// descending, then id ascending.
struct ListPosition {
  int64_t uploaded_at_ms = 0;
  std::string id;
};
// True when `a` comes before `b` in a list.
bool ListsBefore(const VideoMetadata& a, const VideoMetadata& b);
bool ListsAfter(const VideoMetadata& meta, const ListPosition& position);
// The opaque cursor of the page after `last`, and back.
std::string ListCursorAfter(const VideoMetadata& last);
// InvalidArgument when `cursor` was not made by ListCursorAfter.
[[nodiscard]] absl::StatusOr<ListPosition> ParseListCursor(std::string_view cursor);

// One page of a list: summaries, newest first, and the cursor of the next
// page (empty at the end).
struct VideoPage {
  std::vector<VideoMetadata> videos;
  std::string next_cursor;
};

}  // namespace dvs::metadata
