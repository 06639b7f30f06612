// BlobStore::Recover: brings the folder and the index back into agreement
// when the store opens, after a clean stop or a crash.
//
// What a crash can leave, and what becomes of it:
// - temp files of puts in flight: removed, in video folders of either level;
// - a key marked pending (its put crashed around the rename): re-indexed
//   from the file on disk, or dropped when there is none;
// - an entry whose file is gone: dropped and logged;
// - a file with a valid name but no entry: hashed and indexed, and logged;
// - a file whose size differs from its entry: kept and logged, so reads of
//   it report DataLoss and a replica can repair it.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "spdlog/spdlog.h"
#include "storage/blob_store.h"

namespace dvs::storage {
namespace {

namespace fs = std::filesystem;

constexpr size_t kPage = 1000;

// Calls `visit` for each entry of `folder`, without the exceptions a
// range-for over a directory_iterator can throw.
absl::Status ForEachEntry(const fs::path& folder,
                          const std::function<absl::Status(const fs::directory_entry&)>& visit) {
  std::error_code error;
  fs::directory_iterator it(folder, error);
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    RETURN_IF_ERROR(visit(*it));
  }
  if (error) return common::FsError(error, "cannot list", folder);
  return absl::OkStatus();
}

}  // namespace

absl::Status BlobStore::Recover() {
  RETURN_IF_ERROR(ReindexPending());
  RETURN_IF_ERROR(DropEntriesWithoutFiles());
  return ScanFolders();
}

absl::Status BlobStore::ReindexPending() {
  ASSIGN_OR_RETURN(std::vector<std::string> keys, index_->PendingKeys());
  for (const std::string& key : keys) {
    absl::StatusOr<std::pair<std::string_view, std::string_view>> parts = SplitKey(key);
    if (!parts.ok()) {
      RETURN_IF_ERROR(index_->Remove(key));
      continue;
    }
    fs::path path = PathFor(parts->first, parts->second);
    absl::StatusOr<IndexEntry> entry = IndexEntryForFile(key, path);
    if (absl::IsNotFound(entry.status())) {
      spdlog::warn("recovery: {} was being written and has no file; dropped", key);
      RETURN_IF_ERROR(index_->Remove(key));
      continue;
    }
    RETURN_IF_ERROR(entry.status());
    spdlog::info("recovery: {} was being written; indexed as found ({} bytes)", key,
                 entry->blob.size);
    RETURN_IF_ERROR(index_->Upsert(*entry));
  }
  return absl::OkStatus();
}

absl::Status BlobStore::DropEntriesWithoutFiles() {
  std::string after;
  size_t dropped = 0;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<BlobInfo> page, index_->ListPage("", after, kPage));
    if (page.empty()) break;
    after = page.back().key;
    for (const BlobInfo& blob : page) {
      ASSIGN_OR_RETURN(auto parts, SplitKey(blob.key));
      fs::path path = PathFor(parts.first, parts.second);
      absl::StatusOr<uint64_t> size = common::FileSize(path);
      if (absl::IsNotFound(size.status())) {
        spdlog::warn("recovery: {} is indexed but {} is missing; entry dropped", blob.key,
                     path.string());
        RETURN_IF_ERROR(index_->Remove(blob.key));
        ++dropped;
        continue;
      }
      RETURN_IF_ERROR(size.status());
      if (*size != blob.size) {
        spdlog::error("recovery: {} has {} bytes on disk but {} in the index; reads will fail",
                      blob.key, *size, blob.size);
      }
    }
  }
  if (dropped > 0) spdlog::warn("recovery: dropped {} index entries without files", dropped);
  return absl::OkStatus();
}

absl::Status BlobStore::ScanFolders() {
  return ForEachEntry(blobs_dir_, [&](const fs::directory_entry& entry) {
    std::string name = entry.path().filename().string();
    std::error_code error;
    if (!common::ValidateName(name).ok() || !entry.is_directory(error)) {
      spdlog::warn("recovery: ignoring {}: not a video folder", entry.path().string());
      return absl::OkStatus();
    }
    return ScanVideoFolder(entry.path(), name);
  });
}

// A folder inside a legacy (one-level) video folder is one of its generation
// folders, scanned as "<video_id>/<generation>"; nothing nests deeper.
absl::Status BlobStore::ScanVideoFolder(const fs::path& path, const std::string& folder) {
  const bool legacy = folder.find('/') == std::string::npos;
  return ForEachEntry(path, [&](const fs::directory_entry& entry) -> absl::Status {
    std::string name = entry.path().filename().string();
    if (common::IsTempFileName(name)) {
      spdlog::info("recovery: removing unfinished put {}", entry.path().string());
      if (::unlink(entry.path().c_str()) != 0 && errno != ENOENT) {
        return common::ErrnoError(errno, "cannot remove", entry.path());
      }
      return absl::OkStatus();
    }
    std::error_code error;
    bool valid = common::ValidateName(name).ok();
    if (valid && legacy && entry.is_directory(error)) {
      return ScanVideoFolder(entry.path(), absl::StrCat(folder, "/", name));
    }
    if (!valid || !entry.is_regular_file(error)) {
      spdlog::warn("recovery: ignoring {}: not a blob", entry.path().string());
      return absl::OkStatus();
    }
    return IndexIfUnknown(MakeKey(folder, name), entry.path());
  });
}

absl::Status BlobStore::IndexIfUnknown(const std::string& key, const fs::path& path) {
  ASSIGN_OR_RETURN(std::optional<IndexEntry> known, index_->Find(key));
  if (known.has_value()) return absl::OkStatus();
  ASSIGN_OR_RETURN(IndexEntry found, IndexEntryForFile(key, path));
  spdlog::warn("recovery: {} had no index entry; indexed as found ({} bytes)", key,
               found.blob.size);
  return index_->Upsert(found);
}

}  // namespace dvs::storage
