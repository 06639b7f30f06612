// FileIndexStore: where the web app keeps each video's file index. An index
// is a file of its own in the video's content folder, named by its SHA-256
// (metadata::FileIndexName), written once and never changed; the record
// points to it (metadata::FileIndexRef). Indexes read back are kept in memory
// by that hash, so a cached index is never stale, and the least recently
// used are dropped past a total number of files.
//
// Why a content file and not metadata keys: an index grows with the video's
// length (about 100 bytes a file, 9,000 files for ten hours of 1080p) while
// etcd's requests stop at 1.5 MiB and its whole store at a few GiB; the
// content service has room, replicas and checksums already.
//
// Thread-safe.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "content/content_service.h"
#include "metadata/video_metadata.h"

namespace dvs::web {

class FileIndexStore {
 public:
  using Index = std::shared_ptr<const metadata::FileIndex>;
  // Indexes larger than this are refused (about 500,000 files).
  static constexpr uint64_t kMaxIndexBytes = 64ull << 20;

  // `content` must outlive the store.
  explicit FileIndexStore(content::VideoContentService& content, size_t max_files = 1 << 20);

  // Stores `index` in `folder` and returns the reference for the record.
  [[nodiscard]] absl::StatusOr<metadata::FileIndexRef> Write(std::string_view folder,
                                                             const metadata::FileIndex& index);
  // The index `meta` points to (an empty one when it points to none).
  // DataLoss when the stored bytes do not hash to the reference.
  [[nodiscard]] absl::StatusOr<Index> Read(const metadata::VideoMetadata& meta);
  // The index when it is in memory; nullptr otherwise. Never blocks.
  Index ReadFromMemory(const metadata::VideoMetadata& meta);

 private:
  struct Entry {
    Index index;
    std::list<std::string>::iterator position;  // in lru_
  };
  void Keep(const std::string& sha256, Index index);

  content::VideoContentService& content_;
  const size_t max_files_;
  std::mutex mutex_;
  // State below is protected by mutex_.
  std::unordered_map<std::string, Entry> entries_;  // by SHA-256
  std::list<std::string> lru_;                      // most recent first
  size_t files_ = 0;
};

}  // namespace dvs::web
