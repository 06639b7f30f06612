#include "content/fs/fs_content_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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

absl::StatusOr<fs::path> VideoFolder(const fs::path& root, std::string_view video_id) {
  RETURN_IF_ERROR(common::ValidateName(video_id, "video id"));
  return root / video_id;
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

absl::Status RemoveTempFiles(const fs::path& folder) {
  ASSIGN_OR_RETURN(std::vector<fs::directory_entry> entries, ListFolder(folder));
  for (const fs::directory_entry& entry : entries) {
    std::error_code error;
    if (common::IsTempFileName(entry.path().filename().string()) &&
        !fs::remove(entry.path(), error) && error) {
      return FsError(error, "cannot remove leftover", entry.path());
    }
  }
  return absl::OkStatus();
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
  // Temp files only ever live in video folders; the root is swept as well in
  // case someone or something else left one there.
  RETURN_IF_ERROR(RemoveTempFiles(root));
  ASSIGN_OR_RETURN(std::vector<fs::directory_entry> entries, ListFolder(root));
  for (const fs::directory_entry& entry : entries) {
    std::error_code not_a_folder;
    if (entry.is_directory(not_a_folder)) RETURN_IF_ERROR(RemoveTempFiles(entry.path()));
  }
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
  RETURN_IF_ERROR(common::EnsureFolder(path.parent_path()));
  return common::WriteFileAtomically(path, bytes);
}

absl::Status FsContentService::WriteFile(std::string_view video_id, std::string_view filename,
                                         const fs::path& source) {
  ASSIGN_OR_RETURN(fs::path path, PathFor(video_id, filename));
  ASSIGN_OR_RETURN(UniqueFd from, OpenFd(source, O_RDONLY));
  RETURN_IF_ERROR(common::FileSize(from.get(), source).status());
  RETURN_IF_ERROR(common::EnsureFolder(path.parent_path()));
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

absl::Status FsContentService::Delete(std::string_view video_id) {
  ASSIGN_OR_RETURN(fs::path folder, VideoFolder(root_, video_id));
  std::error_code error;
  std::uintmax_t removed = fs::remove_all(folder, error);
  if (error) return FsError(error, "cannot delete", folder);
  // Like a write, a delete is durable once it returns.
  return removed == 0 ? absl::OkStatus() : common::SyncFolder(root_);
}

absl::Status FsContentService::CheckHealth() {
  if (::access(root_.c_str(), W_OK | X_OK) != 0) {
    return absl::UnavailableError(
        absl::StrCat("content root ", root_.string(), " is not writable: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace dvs::content
