#include "content/fs/fs_content_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/posix_file.h"
#include "common/status.h"

namespace dvs::content {
namespace {

namespace fs = std::filesystem;

using common::ErrnoError;
using common::FsError;
using common::OpenFd;
using common::UniqueFd;

constexpr size_t kCopyChunk = 1 << 20;

// Copies through user space from the current offsets to the end of `from`.
absl::Status CopyWithBuffer(int from, int to, const fs::path& source, const fs::path& target) {
  std::vector<char> buffer(kCopyChunk);
  while (true) {
    ssize_t got = ::read(from, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoError(errno, "cannot read", source);
    if (got == 0) return absl::OkStatus();
    RETURN_IF_ERROR(common::WriteAll(to, std::string_view(buffer.data(), got), target));
  }
}

// copy_file_range lets the kernel copy (or reflink) without user-space
// buffers; across filesystems or on old kernels it refuses, and the buffer
// loop carries on from wherever it stopped (both offsets advance together).
absl::Status CopyAll(int from, int to, const fs::path& source, const fs::path& target) {
  while (true) {
    ssize_t copied = ::copy_file_range(from, nullptr, to, nullptr, kCopyChunk, 0);
    if (copied == 0) return absl::OkStatus();
    if (copied > 0) continue;
    if (errno == EINTR) continue;
    if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP ||
        errno == EPERM) {
      return CopyWithBuffer(from, to, source, target);
    }
    return ErrnoError(errno, "cannot copy", source);
  }
}

// ROOT/<video_id> or ROOT/<video_id>/<generation>.
absl::StatusOr<fs::path> VideoFolder(const fs::path& root, std::string_view folder) {
  RETURN_IF_ERROR(common::ValidateFolder(folder));
  return root / folder;
}

bool IsTwoLevel(const fs::path& root, const fs::path& folder) {
  return folder.parent_path() != root;
}

// Creates the video folder, and the <video_id> parent of a two-level one,
// durably. Twice: a concurrent Delete of another generation may remove the
// parent, empty for a moment, between the two mkdirs.
absl::Status EnsureVideoFolder(const fs::path& root, const fs::path& folder) {
  absl::Status status;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (IsTwoLevel(root, folder)) RETURN_IF_ERROR(common::EnsureFolder(folder.parent_path()));
    status = common::EnsureFolder(folder);
    if (!absl::IsNotFound(status)) return status;
  }
  return status;
}

// The entries of `folder`, without the exceptions a range-for over a
// directory_iterator can throw. NotFound when the folder does not exist.
absl::StatusOr<std::vector<fs::directory_entry>> ListFolder(const fs::path& folder) {
  std::vector<fs::directory_entry> entries;
  std::error_code error;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    entries.push_back(*it);
  }
  if (error) return FsError(error, "cannot list", folder);
  return entries;
}

// Removes the temp files in `folder` and, `depth` levels down, in the folders
// inside it.
absl::Status RemoveTempFiles(const fs::path& folder, int depth) {
  ASSIGN_OR_RETURN(std::vector<fs::directory_entry> entries, ListFolder(folder));
  for (const fs::directory_entry& entry : entries) {
    std::error_code error;
    if (common::IsTempFileName(entry.path().filename().string())) {
      if (!fs::remove(entry.path(), error) && error) {
        return FsError(error, "cannot remove leftover", entry.path());
      }
    } else if (depth > 0 && entry.is_directory(error)) {
      RETURN_IF_ERROR(RemoveTempFiles(entry.path(), depth - 1));
    }
  }
  return absl::OkStatus();
}

// Removes what `folder` holds, except the folders inside it when
// `keep_folders` (the generations of a legacy video folder): the count of
// entries removed, or nullopt when there is no such folder.
absl::StatusOr<std::optional<uint64_t>> RemoveContents(const fs::path& folder, bool keep_folders) {
  absl::StatusOr<std::vector<fs::directory_entry>> entries = ListFolder(folder);
  if (absl::IsNotFound(entries.status())) return std::nullopt;
  if (!entries.ok()) return entries.status();
  uint64_t removed = 0;
  for (const fs::directory_entry& entry : *entries) {
    std::error_code error;
    if (keep_folders && entry.is_directory(error)) continue;
    removed += fs::remove_all(entry.path(), error);
    if (error) return FsError(error, "cannot delete", entry.path());
  }
  return removed;
}

// True when `folder` is gone: removed now as it was empty, or already.
absl::StatusOr<bool> RemoveEmptyFolder(const fs::path& folder) {
  if (::rmdir(folder.c_str()) == 0 || errno == ENOENT) return true;
  if (errno == ENOTEMPTY || errno == EEXIST) return false;
  return ErrnoError(errno, "cannot remove folder", folder);
}

// Reads [offset, offset + size) of an open file with pread, one caller-sized
// chunk at a time. The fd pins the file it opened, so a concurrent rename of a
// new version into place does not change what this reader returns.
class FsContentReader final : public ContentReader {
 public:
  FsContentReader(UniqueFd fd, fs::path path, uint64_t offset, uint64_t size)
      : fd_(std::move(fd)), path_(std::move(path)), offset_(offset), size_(size) {}

  uint64_t size() const override { return size_; }

  absl::StatusOr<size_t> Read(char* buffer, size_t max) override {
    size_t want = static_cast<size_t>(std::min<uint64_t>(max, size_ - done_));
    if (want == 0) return 0;
    ASSIGN_OR_RETURN(size_t got,
                     common::PreadSome(fd_.get(), buffer, want, offset_ + done_, path_));
    if (got == 0) return absl::DataLossError(absl::StrCat(path_.string(), " ended early"));
    done_ += got;
    return got;
  }

  std::optional<FileRegion> InFile() const override {
    return FileRegion{fd_.get(), offset_ + done_, size_ - done_};
  }

 private:
  UniqueFd fd_;
  const fs::path path_;
  const uint64_t offset_;
  const uint64_t size_;
  uint64_t done_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<FsContentService>> FsContentService::Open(const fs::path& root) {
  std::error_code error;
  fs::create_directories(root, error);
  if (error) return FsError(error, "cannot create", root);
  if (!fs::is_directory(root, error)) {
    return absl::FailedPreconditionError(absl::StrCat(root.string(), " is not a folder"));
  }
  // Temp files only ever live in video folders (ROOT/<video_id> and
  // ROOT/<video_id>/<generation>); the root is swept as well in case someone
  // or something else left one there.
  RETURN_IF_ERROR(RemoveTempFiles(root, 2));
  return std::unique_ptr<FsContentService>(new FsContentService(root));
}

absl::StatusOr<fs::path> FsContentService::PathFor(std::string_view video_id,
                                                   std::string_view filename) const {
  ASSIGN_OR_RETURN(fs::path folder, VideoFolder(root_, video_id));
  RETURN_IF_ERROR(common::ValidateName(filename, "file name"));
  return folder / filename;
}

absl::Status FsContentService::Write(std::string_view video_id, std::string_view filename,
                                     std::string_view bytes) {
  ASSIGN_OR_RETURN(fs::path path, PathFor(video_id, filename));
  // The video folder is made by its first write.
  RETURN_IF_ERROR(EnsureVideoFolder(root_, path.parent_path()));
  return common::WriteFileAtomically(path, bytes);
}

absl::Status FsContentService::WriteFile(std::string_view video_id, std::string_view filename,
                                         const fs::path& source) {
  ASSIGN_OR_RETURN(fs::path path, PathFor(video_id, filename));
  ASSIGN_OR_RETURN(UniqueFd from, OpenFd(source, O_RDONLY));
  RETURN_IF_ERROR(common::FileSize(from.get(), source).status());
  RETURN_IF_ERROR(EnsureVideoFolder(root_, path.parent_path()));
  return common::WriteFileAtomically(path,
                                     [&](int fd) { return CopyAll(from.get(), fd, source, path); });
}

std::unique_ptr<ContentReader> FsContentService::ReadWithoutWaiting(
    std::string_view video_id, std::string_view filename, std::string_view expected_sha256) {
  absl::StatusOr<std::unique_ptr<ContentReader>> reader = Read(video_id, filename);
  return reader.ok() ? std::move(*reader) : nullptr;
}

absl::StatusOr<std::unique_ptr<ContentReader>> FsContentService::Read(
    std::string_view video_id, std::string_view filename, std::optional<ByteRange> range,
    std::string_view /*expected_sha256*/) {
  ASSIGN_OR_RETURN(fs::path path, PathFor(video_id, filename));
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFd(path, O_RDONLY));
  ASSIGN_OR_RETURN(uint64_t file_size, common::FileSize(fd.get(), path));
  ByteRange whole{0, file_size};
  ByteRange wanted = range.value_or(whole);
  // Written so that no sum can overflow for ranges from untrusted headers.
  if (wanted.offset > file_size || wanted.length > file_size - wanted.offset) {
    return absl::OutOfRangeError(absl::StrCat("bytes ", wanted.offset, "+", wanted.length,
                                              " lie past the end of ", path.string(), " (",
                                              file_size, " bytes)"));
  }
  return std::make_unique<FsContentReader>(std::move(fd), path, wanted.offset, wanted.length);
}

absl::StatusOr<ContentInfo> FsContentService::Stat(std::string_view video_id,
                                                   std::string_view filename,
                                                   std::string_view /*expected_sha256*/) {
  ASSIGN_OR_RETURN(fs::path path, PathFor(video_id, filename));
  ASSIGN_OR_RETURN(uint64_t size, common::FileSize(path));
  return ContentInfo{size, ""};
}

absl::StatusOr<std::vector<std::string>> FsContentService::List(std::string_view video_id) {
  ASSIGN_OR_RETURN(fs::path folder, VideoFolder(root_, video_id));
  absl::StatusOr<std::vector<fs::directory_entry>> entries = ListFolder(folder);
  if (absl::IsNotFound(entries.status())) return std::vector<std::string>();
  if (!entries.ok()) return entries.status();
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : *entries) {
    std::string name = entry.path().filename().string();
    std::error_code vanished;  // a file deleted meanwhile is simply not listed
    // Only names Write could have made: this skips temp files in flight.
    if (common::ValidateName(name).ok() && entry.is_regular_file(vanished)) {
      names.push_back(std::move(name));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Like a write, a delete is durable once it returns: the folder whose
// entries changed last is fsynced.
absl::Status FsContentService::Delete(std::string_view video_id) {
  ASSIGN_OR_RETURN(fs::path folder, VideoFolder(root_, video_id));
  const bool two_level = IsTwoLevel(root_, folder);
  ASSIGN_OR_RETURN(std::optional<uint64_t> removed, RemoveContents(folder, !two_level));
  if (!removed.has_value()) return absl::OkStatus();
  ASSIGN_OR_RETURN(bool folder_gone, RemoveEmptyFolder(folder));
  if (!folder_gone) return *removed == 0 ? absl::OkStatus() : common::SyncFolder(folder);
  if (!two_level) return common::SyncFolder(root_);
  // The video's other generations, or its legacy files, keep the parent.
  ASSIGN_OR_RETURN(bool parent_gone, RemoveEmptyFolder(folder.parent_path()));
  return common::SyncFolder(parent_gone ? root_ : folder.parent_path());
}

absl::Status FsContentService::CheckHealth() {
  if (::access(root_.c_str(), W_OK | X_OK) != 0) {
    return absl::UnavailableError(
        absl::StrCat("content root ", root_.string(), " is not writable: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace dvs::content
