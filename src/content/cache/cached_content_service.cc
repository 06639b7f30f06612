#include "content/cache/cached_content_service.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/posix_file.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/strings.h"

namespace dvs::content {
namespace {

// A range of bytes held in memory.
class MemoryReader final : public ContentReader {
 public:
  MemoryReader(std::shared_ptr<const std::string> bytes, uint64_t offset, uint64_t length)
      : bytes_(std::move(bytes)), next_(offset), end_(offset + length), length_(length) {}
  uint64_t size() const override { return length_; }
  absl::StatusOr<size_t> Read(char* buffer, size_t max) override {
    size_t take = static_cast<size_t>(std::min<uint64_t>(max, end_ - next_));
    std::memcpy(buffer, bytes_->data() + next_, take);
    next_ += take;
    return take;
  }
  std::optional<std::string_view> InMemory() const override {
    return std::string_view(bytes_->data() + next_, static_cast<size_t>(end_ - next_));
  }

 private:
  const std::shared_ptr<const std::string> bytes_;
  uint64_t next_;
  const uint64_t end_;
  const uint64_t length_;
};

}  // namespace

CachedContentService::CachedContentService(VideoContentService& backend,
                                           ContentCacheOptions options)
    : backend_(backend), options_(options) {}

absl::Status CachedContentService::Write(std::string_view video_id, std::string_view filename,
                                         std::string_view bytes) {
  return backend_.Write(video_id, filename, bytes);
}

absl::Status CachedContentService::WriteFile(std::string_view video_id, std::string_view filename,
                                             const std::filesystem::path& source) {
  return backend_.WriteFile(video_id, filename, source);
}

absl::StatusOr<std::unique_ptr<ContentReader>> CachedContentService::Read(
    std::string_view video_id, std::string_view filename, std::optional<ByteRange> range,
    std::string_view expected_sha256) {
  if (expected_sha256.empty()) return backend_.Read(video_id, filename, range);
  Bytes bytes = Find(expected_sha256);
  if (bytes == nullptr) {
    ASSIGN_OR_RETURN(bytes, Load(video_id, filename, expected_sha256));
    if (bytes == nullptr) return backend_.Read(video_id, filename, range, expected_sha256);
  }
  ByteRange wanted = range.value_or(ByteRange{0, bytes->size()});
  if (wanted.offset > bytes->size() || wanted.length > bytes->size() - wanted.offset) {
    return absl::OutOfRangeError(absl::StrCat("bytes ", wanted.offset, "+", wanted.length,
                                              " lie past the end of ", common::AsAbsl(filename),
                                              " (", bytes->size(), " bytes)"));
  }
  return std::make_unique<MemoryReader>(std::move(bytes), wanted.offset, wanted.length);
}

absl::StatusOr<ContentInfo> CachedContentService::Stat(std::string_view video_id,
                                                       std::string_view filename,
                                                       std::string_view expected_sha256) {
  if (!expected_sha256.empty()) {
    if (Bytes bytes = Find(expected_sha256)) {
      return ContentInfo{bytes->size(), std::string(expected_sha256)};
    }
  }
  return backend_.Stat(video_id, filename, expected_sha256);
}

std::unique_ptr<ContentReader> CachedContentService::ReadWithoutWaiting(
    std::string_view video_id, std::string_view filename, std::string_view expected_sha256) {
  if (!expected_sha256.empty()) {
    if (Bytes bytes = Find(expected_sha256)) {
      uint64_t size = bytes->size();
      return std::make_unique<MemoryReader>(std::move(bytes), 0, size);
    }
  }
  std::unique_ptr<ContentReader> reader =
      backend_.ReadWithoutWaiting(video_id, filename, expected_sha256);
  if (reader == nullptr || expected_sha256.empty()) return reader;
  // A small local file is kept for the next request: reading it now is as
  // quick as the open that was just done, and memory beats sendfile for it.
  if (Bytes bytes = KeepLocalFile(*reader, video_id, filename, expected_sha256)) {
    uint64_t size = bytes->size();
    return std::make_unique<MemoryReader>(std::move(bytes), 0, size);
  }
  return reader;
}

CachedContentService::Bytes CachedContentService::KeepLocalFile(const ContentReader& reader,
                                                                std::string_view video_id,
                                                                std::string_view filename,
                                                                std::string_view sha256) {
  std::optional<FileRegion> file = reader.InFile();
  if (!file || file->length > options_.max_entry_bytes || file->length > options_.max_bytes) {
    return nullptr;
  }
  auto bytes = std::make_shared<std::string>(static_cast<size_t>(file->length), '\0');
  // pread leaves the reader where it was: it is still served if not kept.
  if (!common::PreadExactly(file->fd, bytes->data(), bytes->size(), file->offset, filename).ok()) {
    return nullptr;
  }
  return KeepIfItHashesTo(std::move(bytes), video_id, sha256);
}

absl::StatusOr<std::vector<std::string>> CachedContentService::List(std::string_view video_id) {
  return backend_.List(video_id);
}

absl::Status CachedContentService::Delete(std::string_view video_id) {
  {
    std::lock_guard lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second.video_id != video_id) {
        ++it;
        continue;
      }
      bytes_ -= it->second.bytes->size();
      lru_.erase(it->second.position);
      it = entries_.erase(it);
    }
  }
  return backend_.Delete(video_id);
}

absl::Status CachedContentService::CheckHealth() { return backend_.CheckHealth(); }

ContentCacheStats CachedContentService::stats() const {
  std::lock_guard lock(mutex_);
  return ContentCacheStats{
      .hits = hits_, .misses = misses_, .entries = entries_.size(), .bytes = bytes_};
}

CachedContentService::Bytes CachedContentService::Find(std::string_view sha256) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(sha256);
  if (it == entries_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second.position);
  return it->second.bytes;
}

absl::StatusOr<CachedContentService::Bytes> CachedContentService::Load(std::string_view video_id,
                                                                       std::string_view filename,
                                                                       std::string_view sha256) {
  ASSIGN_OR_RETURN(ContentInfo info, backend_.Stat(video_id, filename, sha256));
  if (info.size > options_.max_entry_bytes || info.size > options_.max_bytes) return nullptr;
  ASSIGN_OR_RETURN(std::unique_ptr<ContentReader> reader,
                   backend_.Read(video_id, filename, std::nullopt, sha256));
  auto bytes = std::make_shared<std::string>();
  bytes->resize(static_cast<size_t>(reader->size()));
  size_t filled = 0;
  while (filled < bytes->size()) {
    ASSIGN_OR_RETURN(size_t got, reader->Read(bytes->data() + filled, bytes->size() - filled));
    if (got == 0) break;
    filled += got;
  }
  // A file that changed between the stat and the read, or a copy with other
  // content, is served by the backend and not kept.
  if (filled != bytes->size()) return nullptr;
  return KeepIfItHashesTo(std::move(bytes), video_id, sha256);
}

CachedContentService::Bytes CachedContentService::KeepIfItHashesTo(
    std::shared_ptr<std::string> bytes, std::string_view video_id, std::string_view sha256) {
  if (common::Sha256Hex(*bytes) != sha256) return nullptr;
  Bytes shared = std::move(bytes);
  Insert(std::string(sha256), std::string(video_id), shared);
  return shared;
}

void CachedContentService::Insert(std::string sha256, std::string video_id, Bytes bytes) {
  std::lock_guard lock(mutex_);
  if (entries_.contains(sha256)) return;
  lru_.push_front(sha256);
  bytes_ += bytes->size();
  entries_.emplace(std::move(sha256), Entry{std::move(video_id), std::move(bytes), lru_.begin()});
  while (bytes_ > options_.max_bytes && !lru_.empty()) {
    auto victim = entries_.find(lru_.back());
    bytes_ -= victim->second.bytes->size();
    entries_.erase(victim);
    lru_.pop_back();
  }
}

}  // namespace dvs::content
