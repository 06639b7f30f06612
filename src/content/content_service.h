// VideoContentService: where the files of each video (manifests, segments,
// posters) live. Implementations: fs/ (a local folder) and network/ (storage
// servers on a hash ring). Every method is safe to call from many threads.
//
// The `video_id` argument of every method is a video folder: one name
// ("clip", the legacy form) or a video id and a generation joined by one
// slash ("clip/0123abcd0123abcd"), so that each upload of a video can keep
// its files apart from the others'. The folders of one video are separate:
// "clip" holds only its own files, not those of "clip/<generation>".
// Callers validate folders with common::ValidateFolder and file names with
// common::ValidateName first; implementations check again and refuse
// anything else with InvalidArgument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::content {

struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct ContentInfo {
  uint64_t size = 0;
  std::string sha256;  // lowercase hex; empty when the backend cannot tell cheaply
};

// Bytes of a file open for reading: `length` bytes from `offset` of `fd`.
struct FileRegion {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// A file being read, in order, chunk by chunk. Not thread-safe.
class ContentReader {
 public:
  virtual ~ContentReader() = default;
  // Bytes this reader will yield in all (the range's length, or the file's size).
  virtual uint64_t size() const = 0;
  // Fills up to `max` bytes; 0 at the end. An error when the bytes cannot be
  // read or fail their checksum.
  [[nodiscard]] virtual absl::StatusOr<size_t> Read(char* buffer, size_t max) = 0;
  // All the bytes still to come when they are in memory already (valid while
  // the reader lives); nullopt for a reader that has to fetch them.
  virtual std::optional<std::string_view> InMemory() const { return std::nullopt; }
  // All the bytes still to come as a region of a local file the reader keeps
  // open (for sendfile); nullopt for a reader that has no such file.
  virtual std::optional<FileRegion> InFile() const { return std::nullopt; }
};

class VideoContentService {
 public:
  virtual ~VideoContentService() = default;

  // Stores the file whole or not at all (a reader never sees part of it).
  [[nodiscard]] virtual absl::Status Write(std::string_view video_id, std::string_view filename,
                                           std::string_view bytes) = 0;
  [[nodiscard]] virtual absl::Status WriteFile(std::string_view video_id, std::string_view filename,
                                               const std::filesystem::path& source) = 0;
  // NotFound when missing; OutOfRange when `range` lies past the end.
  // `expected_sha256`, when given, is the content the caller knows the file
  // has (from its metadata): a backend with several copies serves only a
  // copy with that content, and fails (DataLoss) when no copy has it, rather
  // than serve other bytes. Stat likewise.
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<ContentReader>> Read(
      std::string_view video_id, std::string_view filename,
      std::optional<ByteRange> range = std::nullopt, std::string_view expected_sha256 = {}) = 0;
  [[nodiscard]] virtual absl::StatusOr<ContentInfo> Stat(std::string_view video_id,
                                                         std::string_view filename,
                                                         std::string_view expected_sha256 = {}) = 0;
  // A reader of the whole file when it can be had at once, without waiting
  // on a network or a lock: one whose bytes are InMemory() or InFile(). nullptr
  // otherwise, and on any error (Read then tells what it is). For callers on
  // an I/O thread. `expected_sha256` as for Read. CachedContentService answers
  // from memory; FsContentService opens the file, as a web server does on its
  // event loop (a cold file may wait on the disk); storage servers never.
  virtual std::unique_ptr<ContentReader> ReadWithoutWaiting(std::string_view video_id,
                                                            std::string_view filename,
                                                            std::string_view expected_sha256) {
    return nullptr;
  }
  // The file names (no folder part) directly in the video folder, sorted;
  // empty when it has none. A legacy folder's list has no generations in it.
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::string>> List(
      std::string_view video_id) = 0;
  // Removes every file of the video folder, and the folder; for a two-level
  // folder also its <video_id> parent when that is left empty. The video's
  // other folders (its other generations, or its legacy files) stay. OK when
  // the folder had no files.
  [[nodiscard]] virtual absl::Status Delete(std::string_view video_id) = 0;

  // OK when the backend can serve (for /readyz).
  [[nodiscard]] virtual absl::Status CheckHealth() = 0;
};

}  // namespace dvs::content
