#include "storage/blob_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace dvs::storage {

namespace fs = std::filesystem;
using common::ErrnoError;
using common::OpenFd;
using common::UniqueFd;

namespace {

constexpr size_t kDeletePage = 256;

std::string RandomHex(int words) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::string hex;
  for (int i = 0; i < words; ++i) absl::StrAppend(&hex, absl::Hex(random(), absl::kZeroPad16));
  return hex;
}

// A second process on the same folder would corrupt the index and race on
// files; an flock on DIR/LOCK keeps it out (and goes with the process).
absl::StatusOr<UniqueFd> LockFolder(const fs::path& dir) {
  fs::path lock_path = dir / "LOCK";
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFd(lock_path, O_RDWR | O_CREAT));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir.string(), " is in use by another dvs storage server"));
    }
    return ErrnoError(errno, "cannot lock", lock_path);
  }
  return fd;
}

// The node's id: made once, at the first start, and kept in DIR/node-id so
// that the node keeps its identity across restarts.
absl::StatusOr<std::string> LoadOrCreateNodeId(const fs::path& dir) {
  fs::path path = dir / "node-id";
  absl::StatusOr<UniqueFd> existing = OpenFd(path, O_RDONLY);
  if (absl::IsNotFound(existing.status())) {
    std::string id = RandomHex(2);
    RETURN_IF_ERROR(common::WriteFileAtomically(path, id + "\n"));
    spdlog::info("new storage node id {} in {}", id, path.string());
    return id;
  }
  RETURN_IF_ERROR(existing.status());
  char buffer[64];
  ASSIGN_OR_RETURN(size_t got, common::PreadSome(existing->get(), buffer, sizeof(buffer), 0, path));
  std::string id(buffer, got);
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  if (id.empty() || !common::ValidateName(id).ok()) {
    return absl::FailedPreconditionError(absl::StrCat(path.string(), " holds no valid node id"));
  }
  return id;
}

// Space an unprivileged writer can still use on the folder's file system.
absl::StatusOr<uint64_t> FreeBytes(const fs::path& dir) {
  struct statvfs disk;
  if (::statvfs(dir.c_str(), &disk) != 0) return ErrnoError(errno, "cannot statvfs", dir);
  return static_cast<uint64_t>(disk.f_bavail) * disk.f_frsize;
}

// True when `folder` was removed: it was empty. Still in use (or gone
// already) is no error.
bool RemoveEmptyFolder(const fs::path& folder) {
  if (::rmdir(folder.c_str()) == 0) return true;
  if (errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT) {
    spdlog::warn("cannot remove empty folder {}: {}", folder.string(), std::strerror(errno));
  }
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BlobStore>> BlobStore::Open(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return common::FsError(error, "cannot create folder", dir);
  RETURN_IF_ERROR(common::EnsureFolder(dir / "blobs"));
  ASSIGN_OR_RETURN(UniqueFd lock_fd, LockFolder(dir));
  ASSIGN_OR_RETURN(std::string node_id, LoadOrCreateNodeId(dir));
  ASSIGN_OR_RETURN(std::unique_ptr<BlobIndex> index, BlobIndex::Open(dir / "index.db"));
  std::unique_ptr<BlobStore> store(
      new BlobStore(dir, std::move(lock_fd), std::move(node_id), std::move(index)));
  RETURN_IF_ERROR(store->Recover());
  return store;
}

BlobStore::BlobStore(fs::path dir, UniqueFd lock_fd, std::string node_id,
                     std::unique_ptr<BlobIndex> index)
    : dir_(std::move(dir)),
      blobs_dir_(dir_ / "blobs"),
      lock_fd_(std::move(lock_fd)),
      node_id_(std::move(node_id)),
      index_(std::move(index)) {}

BlobStore::~BlobStore() = default;

// A two-level folder "id/gen" appends as the two folders id and gen.
fs::path BlobStore::FolderFor(std::string_view folder) const { return blobs_dir_ / folder; }

fs::path BlobStore::PathFor(std::string_view folder, std::string_view filename) const {
  return blobs_dir_ / folder / filename;
}

std::mutex& BlobStore::KeyLock(std::string_view key) {
  return key_locks_[std::hash<std::string_view>{}(key) % key_locks_.size()];
}

absl::Status BlobStore::EnsureVideoFolder(std::string_view folder) {
  fs::path path = FolderFor(folder);
  if (path.parent_path() != blobs_dir_) RETURN_IF_ERROR(common::EnsureFolder(path.parent_path()));
  return common::EnsureFolder(path);
}

absl::StatusOr<UniqueFd> BlobStore::CreateTempFile(std::string_view folder,
                                                   std::string_view filename, fs::path& temp_path) {
  // Two tries: a concurrent delete may remove the (empty) folder, or the
  // empty <video_id> parent of a two-level one, between their creation and
  // the temp file's.
  absl::Status last;
  for (int attempt = 0; attempt < 2; ++attempt) {
    last = EnsureVideoFolder(folder);
    if (absl::IsNotFound(last)) continue;
    RETURN_IF_ERROR(last);
    temp_path = FolderFor(folder) /
                absl::StrCat(common::kTempFilePrefix, common::AsAbsl(filename), "-", RandomHex(1));
    absl::StatusOr<UniqueFd> fd = OpenFd(temp_path, O_WRONLY | O_CREAT | O_EXCL);
    if (fd.ok() || !absl::IsNotFound(fd.status())) return fd;
    last = fd.status();
  }
  return last;
}

absl::StatusOr<std::unique_ptr<BlobWriter>> BlobStore::BeginPut(std::string_view key, uint64_t size,
                                                                std::string_view sha256,
                                                                std::string_view block_sha256) {
  ASSIGN_OR_RETURN(auto parts, SplitKey(key));
  RETURN_IF_ERROR(ValidateSha256Hex(sha256));
  if (!block_sha256.empty()) RETURN_IF_ERROR(ValidateBlockSha256(block_sha256, size));
  ASSIGN_OR_RETURN(uint64_t bytes_free, FreeBytes(dir_));
  if (size > bytes_free) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "no room for ", size, " bytes of ", common::AsAbsl(key), ": ", bytes_free, " bytes free"));
  }
  fs::path temp_path;
  ASSIGN_OR_RETURN(UniqueFd fd, CreateTempFile(parts.first, parts.second, temp_path));
  BlobInfo expected{std::string(key), size, std::string(sha256)};
  return std::unique_ptr<BlobWriter>(new BlobWriter(
      this, std::move(expected), std::string(block_sha256), std::move(temp_path), std::move(fd)));
}

absl::StatusOr<PutResult> BlobStore::Put(std::string_view key, std::string_view bytes,
                                         std::string_view sha256) {
  ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, BeginPut(key, bytes.size(), sha256));
  RETURN_IF_ERROR(writer->Append(bytes));
  return writer->Commit();
}

// The key is marked pending before the rename and unmarked with the new
// entry after it, so a crash in between leaves a mark that Recover resolves
// from the file actually on disk.
absl::StatusOr<PutResult> BlobStore::CommitPut(const IndexEntry& entry, const fs::path& temp_path) {
  const std::string& key = entry.blob.key;
  ASSIGN_OR_RETURN(auto parts, SplitKey(key));
  fs::path path = PathFor(parts.first, parts.second);
  std::lock_guard lock(KeyLock(key));
  ASSIGN_OR_RETURN(std::optional<IndexEntry> old, index_->Find(key));
  RETURN_IF_ERROR(index_->MarkPending(key));
  RETURN_IF_ERROR(common::RenameDurably(temp_path, path));
  RETURN_IF_ERROR(index_->Upsert(entry));
  ClearCorrupt(key);
  PutOutcome outcome = !old.has_value()                        ? PutOutcome::kCreated
                       : old->blob.sha256 == entry.blob.sha256 ? PutOutcome::kUnchanged
                                                               : PutOutcome::kReplaced;
  return PutResult{entry.blob, outcome};
}

absl::StatusOr<std::unique_ptr<BlobReader>> BlobStore::Read(std::string_view key, uint64_t offset,
                                                            uint64_t length) {
  ASSIGN_OR_RETURN(auto parts, SplitKey(key));
  fs::path path = PathFor(parts.first, parts.second);
  std::lock_guard lock(KeyLock(key));
  ASSIGN_OR_RETURN(std::optional<IndexEntry> entry, index_->Find(key));
  if (!entry.has_value()) {
    return absl::NotFoundError(absl::StrCat(common::AsAbsl(key), " is not stored"));
  }
  uint64_t size = entry->blob.size;
  if (length == 0 && offset <= size) length = size - offset;
  // Written so that no sum can overflow for ranges from untrusted requests.
  if (offset > size || length > size - offset) {
    return absl::OutOfRangeError(absl::StrCat("bytes ", offset, "+", length,
                                              " lie past the end of ", common::AsAbsl(key), " (",
                                              size, " bytes)"));
  }
  absl::StatusOr<UniqueFd> fd = OpenFd(path, O_RDONLY);
  if (absl::IsNotFound(fd.status())) {
    spdlog::error("{} is in the index but its file {} is gone", key, path.string());
    return absl::DataLossError(absl::StrCat("stored bytes of ", common::AsAbsl(key), " are gone"));
  }
  RETURN_IF_ERROR(fd.status());
  return std::unique_ptr<BlobReader>(
      new BlobReader(std::move(*fd), path, std::move(*entry), offset, offset + length));
}

absl::StatusOr<std::unique_ptr<BlobReader>> BlobStore::ReadForCopy(std::string_view key) {
  ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> reader, Read(key));
  reader->verify_ = reader->size() > kMaxCopyChecksumBlocks * kBlockSize;
  return reader;
}

absl::StatusOr<BlobInfo> BlobStore::Stat(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  ASSIGN_OR_RETURN(std::optional<IndexEntry> entry, index_->Find(key));
  if (!entry.has_value()) {
    return absl::NotFoundError(absl::StrCat(common::AsAbsl(key), " is not stored"));
  }
  return entry->blob;
}

absl::StatusOr<std::vector<BlobInfo>> BlobStore::ListPage(std::string_view folder,
                                                          std::string_view after, size_t limit) {
  if (!folder.empty()) RETURN_IF_ERROR(common::ValidateFolder(folder));
  return index_->ListPage(folder, after, limit);
}

absl::StatusOr<uint64_t> BlobStore::Delete(std::string_view key) {
  ASSIGN_OR_RETURN(auto parts, SplitKey(key));
  ASSIGN_OR_RETURN(uint64_t deleted, DeleteBlob(key));
  if (deleted > 0) RemoveFolderIfEmpty(parts.first);
  return deleted;
}

absl::StatusOr<uint64_t> BlobStore::DeleteVideo(std::string_view folder) {
  RETURN_IF_ERROR(common::ValidateFolder(folder));
  uint64_t deleted = 0;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<BlobInfo> page, index_->ListPage(folder, "", kDeletePage));
    if (page.empty()) break;
    for (const BlobInfo& blob : page) {
      ASSIGN_OR_RETURN(uint64_t count, DeleteBlob(blob.key));
      deleted += count;
    }
  }
  RemoveFolderIfEmpty(folder);
  return deleted;
}

// The file goes first and the entry after, so a crash in between leaves an
// entry without a file (dropped at open) rather than a file that would come
// back to life.
absl::StatusOr<uint64_t> BlobStore::DeleteBlob(std::string_view key) {
  ASSIGN_OR_RETURN(auto parts, SplitKey(key));
  fs::path path = PathFor(parts.first, parts.second);
  std::lock_guard lock(KeyLock(key));
  ASSIGN_OR_RETURN(std::optional<IndexEntry> entry, index_->Find(key));
  if (!entry.has_value()) return 0;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "cannot remove", path);
  }
  RETURN_IF_ERROR(common::SyncFolder(path.parent_path()));
  RETURN_IF_ERROR(index_->Remove(key));
  ClearCorrupt(key);
  return 1;
}

void BlobStore::RemoveFolderIfEmpty(std::string_view folder) {
  fs::path path = FolderFor(folder);
  if (!RemoveEmptyFolder(path)) return;
  // Another generation keeps the <video_id> parent, and so do legacy files.
  if (path.parent_path() != blobs_dir_) RemoveEmptyFolder(path.parent_path());
}

absl::StatusOr<NodeInfo> BlobStore::Info() {
  ASSIGN_OR_RETURN(IndexTotals totals, index_->Totals());
  ASSIGN_OR_RETURN(uint64_t free_bytes, FreeBytes(dir_));
  return NodeInfo{node_id_, totals.bytes, free_bytes, totals.blob_count};
}

bool BlobStore::MarkCorrupt(const BlobReader& damaged) {
  // Under the lock: a put renames its file before it clears the mark, so
  // either this sees the new file, or the put's clear comes after the mark.
  std::lock_guard lock(corrupt_mutex_);
  struct stat read_file {};
  struct stat stored_file {};
  if (::fstat(damaged.fd_.get(), &read_file) != 0 ||
      ::stat(damaged.path_.c_str(), &stored_file) != 0 || read_file.st_ino != stored_file.st_ino ||
      read_file.st_dev != stored_file.st_dev) {
    return false;
  }
  corrupt_.emplace(damaged.blob().key);
  return true;
}

void BlobStore::ClearCorrupt(std::string_view key) {
  std::lock_guard lock(corrupt_mutex_);
  if (auto it = corrupt_.find(key); it != corrupt_.end()) corrupt_.erase(it);
}

std::pair<std::vector<std::string>, uint64_t> BlobStore::CorruptKeys(size_t limit) const {
  std::lock_guard lock(corrupt_mutex_);
  std::vector<std::string> keys;
  for (auto it = corrupt_.begin(); it != corrupt_.end() && keys.size() < limit; ++it) {
    keys.push_back(*it);
  }
  return {std::move(keys), corrupt_.size()};
}

}  // namespace dvs::storage
