// CachedContentService: hot files in memory in front of any content backend.
//
// Entries are keyed by the file's SHA-256 as the caller knows it from the
// metadata (`expected_sha256` of Read and Stat), and a file is cached only
// once its bytes are hashed and match: so an entry is never stale, whatever
// is written or replaced behind it, and nothing has to be invalidated on a
// write. Reads without an expected hash, and files larger than
// max_entry_bytes, go straight to the backend. Least recently used entries
// are dropped past max_bytes.
//
// Thread-safe: mutex_ guards the index; cached bytes are immutable and
// shared with the readers serving them.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "content/content_service.h"

namespace dvs::content {

struct ContentCacheOptions {
  uint64_t max_bytes = 256ull << 20;
  uint64_t max_entry_bytes = 8ull << 20;
};

struct ContentCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t entries = 0;
  uint64_t bytes = 0;
};

class CachedContentService final : public VideoContentService {
 public:
  // `backend` must outlive the cache.
  CachedContentService(VideoContentService& backend, ContentCacheOptions options);

  absl::Status Write(std::string_view video_id, std::string_view filename,
                     std::string_view bytes) override;
  absl::Status WriteFile(std::string_view video_id, std::string_view filename,
                         const std::filesystem::path& source) override;
  absl::StatusOr<std::unique_ptr<ContentReader>> Read(
      std::string_view video_id, std::string_view filename,
      std::optional<ByteRange> range = std::nullopt,
      std::string_view expected_sha256 = {}) override;
  absl::StatusOr<ContentInfo> Stat(std::string_view video_id, std::string_view filename,
                                   std::string_view expected_sha256 = {}) override;
  // From memory, or else the backend's own (a local file).
  std::unique_ptr<ContentReader> ReadWithoutWaiting(std::string_view video_id,
                                                    std::string_view filename,
                                                    std::string_view expected_sha256) override;
  absl::StatusOr<std::vector<std::string>> List(std::string_view video_id) override;
  // Also drops the entries read from that video folder (only that one: not
  // those of the video's other generations), to give their memory back.
  absl::Status Delete(std::string_view video_id) override;
  absl::Status CheckHealth() override;

  ContentCacheStats stats() const;

 private:
  using Bytes = std::shared_ptr<const std::string>;
  struct Entry {
    std::string video_id;  // the video folder the bytes were read from
    Bytes bytes;
    std::list<std::string>::iterator position;  // in lru_
  };

  Bytes Find(std::string_view sha256);
  // Reads the whole file and keeps it when it hashes to `sha256`; nullptr
  // when it does not (or is too large), and the backend's error if it fails.
  absl::StatusOr<Bytes> Load(std::string_view video_id, std::string_view filename,
                             std::string_view sha256);
  // The bytes of a whole local file the reader has open, kept when they hash
  // to `sha256` and fit; nullptr otherwise.
  Bytes KeepLocalFile(const ContentReader& reader, std::string_view video_id,
                      std::string_view filename, std::string_view sha256);
  // Keeps `bytes` when they hash to `sha256`; nullptr when they do not.
  Bytes KeepIfItHashesTo(std::shared_ptr<std::string> bytes, std::string_view video_id,
                         std::string_view sha256);
  void Insert(std::string sha256, std::string video_id, Bytes bytes);

  VideoContentService& backend_;
  const ContentCacheOptions options_;
  mutable std::mutex mutex_;
  struct Hash : std::hash<std::string_view> {
    using is_transparent = void;  // looked up by string_view
  };
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;  // by SHA-256
  std::list<std::string> lru_;  // SHA-256s, most recent first
  uint64_t bytes_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace dvs::content
