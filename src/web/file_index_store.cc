#include "web/file_index_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status.h"

namespace dvs::web {
namespace {

absl::StatusOr<std::string> ReadWhole(content::ContentReader& reader, std::string_view name) {
  if (reader.size() > FileIndexStore::kMaxIndexBytes) {
    return absl::DataLossError(absl::StrCat("file index ", std::string(name), " is ", reader.size(),
                                            " bytes, over the limit"));
  }
  std::string bytes(static_cast<size_t>(reader.size()), '\0');
  size_t filled = 0;
  while (filled < bytes.size()) {
    ASSIGN_OR_RETURN(size_t got, reader.Read(bytes.data() + filled, bytes.size() - filled));
    if (got == 0) break;
    filled += got;
  }
  if (filled != bytes.size()) {
    return absl::DataLossError(absl::StrCat("file index ", std::string(name), " ended early"));
  }
  return bytes;
}

}  // namespace

FileIndexStore::FileIndexStore(content::VideoContentService& content, size_t max_files)
    : content_(content), max_files_(max_files) {}

absl::StatusOr<metadata::FileIndexRef> FileIndexStore::Write(std::string_view folder,
                                                             const metadata::FileIndex& index) {
  std::string json = metadata::ToJson(index);
  metadata::FileIndexRef ref{.sha256 = common::Sha256Hex(json), .files = index.files().size()};
  ref.name = metadata::FileIndexName(ref.sha256);
  RETURN_IF_ERROR(content_.Write(folder, ref.name, json));
  Keep(ref.sha256, std::make_shared<const metadata::FileIndex>(index));
  return ref;
}

absl::StatusOr<FileIndexStore::Index> FileIndexStore::Read(const metadata::VideoMetadata& meta) {
  if (Index kept = ReadFromMemory(meta)) return kept;
  const metadata::FileIndexRef& ref = meta.index;
  ASSIGN_OR_RETURN(std::unique_ptr<content::ContentReader> reader,
                   content_.Read(meta.ContentFolder(), ref.name, std::nullopt, ref.sha256));
  ASSIGN_OR_RETURN(std::string json, ReadWhole(*reader, ref.name));
  if (common::Sha256Hex(json) != ref.sha256) {
    return absl::DataLossError(absl::StrCat("the file index of video \"", meta.id,
                                            "\" does not match its recorded SHA-256"));
  }
  absl::StatusOr<metadata::FileIndex> index = metadata::FileIndexFromJson(json);
  if (!index.ok()) {
    return absl::DataLossError(
        absl::StrCat("the file index of video \"", meta.id, "\": ", index.status().message()));
  }
  Index shared = std::make_shared<const metadata::FileIndex>(std::move(*index));
  Keep(ref.sha256, shared);
  return shared;
}

FileIndexStore::Index FileIndexStore::ReadFromMemory(const metadata::VideoMetadata& meta) {
  static const Index kEmpty = std::make_shared<const metadata::FileIndex>();
  if (meta.index.empty()) return kEmpty;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(meta.index.sha256);
  if (it == entries_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.position);
  return it->second.index;
}

void FileIndexStore::Keep(const std::string& sha256, Index index) {
  std::lock_guard lock(mutex_);
  if (entries_.contains(sha256)) return;
  files_ += index->files().size();
  lru_.push_front(sha256);
  entries_.emplace(sha256, Entry{std::move(index), lru_.begin()});
  while (files_ > max_files_ && lru_.size() > 1) {
    auto oldest = entries_.find(lru_.back());
    files_ -= oldest->second.index->files().size();
    entries_.erase(oldest);
    lru_.pop_back();
  }
}

}  // namespace dvs::web
