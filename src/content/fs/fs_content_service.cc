#include "content/fs/fs_content_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status.h"

namespace dvs::content {
namespace {

namespace fs = std::filesystem;

// Temp files start with '.', which common::ValidateName never accepts, so a
// temp file can never be mistaken for (or collide with) a stored file.
constexpr char kTempPrefix[] = ".tmp-";
constexpr size_t kCopyChunk = 1 << 20;

absl::Status ErrnoError(int error, const char* what, const fs::path& path) {
  std::string message = absl::StrCat(what, " ", path.string(), ": ", std::strerror(error));
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status FsError(const std::error_code& error, const char* what, const fs::path& path) {
  // libstdc++ reports OS errors in the generic category, others in the system one.
  if (error.category() == std::generic_category() || error.category() == std::system_category()) {
    return ErrnoError(error.value(), what, path);
  }
  return absl::InternalError(absl::StrCat(what, " ", path.string(), ": ", error.message()));
}

// An owned file descriptor. Close() reports the error that close(2) can carry
// for written files; the destructor is the fallback for error paths.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  [[nodiscard]] absl::Status Close(const fs::path& path) {
    int rc = ::close(std::exchange(fd_, -1));
    return rc == 0 ? absl::OkStatus() : ErrnoError(errno, "cannot close", path);
  }

 private:
  int fd_;
};

absl::StatusOr<UniqueFd> OpenFd(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot open", path);
  return UniqueFd(fd);
}

absl::Status SyncFolder(const fs::path& folder) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFd(folder, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) != 0) return ErrnoError(errno, "cannot fsync", folder);
  return fd.Close(folder);
}

// Creates `folder` when missing; a new folder's entry in its parent is made
// durable too, or a crash could lose the folder with the files inside it.
absl::Status EnsureFolder(const fs::path& folder) {
  if (::mkdir(folder.c_str(), 0755) == 0) return SyncFolder(folder.parent_path());
  if (errno == EEXIST) return absl::OkStatus();
  return ErrnoError(errno, "cannot create folder", folder);
}

absl::Status WriteAll(int fd, std::string_view bytes, const fs::path& path) {
  while (!bytes.empty()) {
    ssize_t wrote = ::write(fd, bytes.data(), bytes.size());
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) return ErrnoError(errno, "cannot write", path);
    bytes.remove_prefix(static_cast<size_t>(wrote));
  }
  return absl::OkStatus();
}

// Copies through user space from the current offsets to the end of `from`.
absl::Status CopyWithBuffer(int from, int to, const fs::path& source, const fs::path& target) {
  std::vector<char> buffer(kCopyChunk);
  while (true) {
    ssize_t got = ::read(from, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoError(errno, "cannot read", source);
    if (got == 0) return absl::OkStatus();
    RETURN_IF_ERROR(WriteAll(to, std::string_view(buffer.data(), got), target));
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

// A temp file beside its final path; removed unless CommitAs succeeds.
class TempFile {
 public:
  static absl::StatusOr<TempFile> Create(const fs::path& final_path) {
    std::string pattern = (final_path.parent_path() /
                           absl::StrCat(kTempPrefix, final_path.filename().string(), "-XXXXXX"))
                              .string();
    int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (fd < 0) return ErrnoError(errno, "cannot create temp file in", final_path.parent_path());
    TempFile temp(UniqueFd(fd), pattern);
    // mkostemp makes the file 0600; stored files are readable like any other.
    if (::fchmod(fd, 0644) != 0) return ErrnoError(errno, "cannot chmod", temp.path_);
    return temp;
  }
  TempFile(TempFile&& other) noexcept
      : fd_(std::move(other.fd_)),
        path_(std::move(other.path_)),
        committed_(std::exchange(other.committed_, true)) {}
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile() {
    if (!committed_) ::unlink(path_.c_str());
  }

  int fd() const { return fd_.get(); }
  const fs::path& path() const { return path_; }

  // Durable before visible: data reaches the disk before the rename makes it
  // the stored file, and the folder is synced so the rename itself survives.
  [[nodiscard]] absl::Status CommitAs(const fs::path& final_path) {
    if (::fsync(fd_.get()) != 0) return ErrnoError(errno, "cannot fsync", path_);
    RETURN_IF_ERROR(fd_.Close(path_));
    if (::rename(path_.c_str(), final_path.c_str()) != 0) {
      return ErrnoError(errno, "cannot rename into", final_path);
    }
    committed_ = true;
    return SyncFolder(final_path.parent_path());
  }

 private:
  TempFile(UniqueFd fd, fs::path path) : fd_(std::move(fd)), path_(std::move(path)) {}

  UniqueFd fd_;
  fs::path path_;
  bool committed_ = false;
};

absl::Status WriteAtomically(const fs::path& path, const std::function<absl::Status(int)>& fill) {
  RETURN_IF_ERROR(EnsureFolder(path.parent_path()));
  ASSIGN_OR_RETURN(TempFile temp, TempFile::Create(path));
  RETURN_IF_ERROR(fill(temp.fd()));
  return temp.CommitAs(path);
}

absl::StatusOr<fs::path> VideoFolder(const fs::path& root, std::string_view video_id) {
  RETURN_IF_ERROR(common::ValidateName(video_id, "video id"));
  return root / video_id;
}

bool IsTempName(const fs::path& name) {
  return absl::StartsWith(name.filename().string(), kTempPrefix);
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
    if (IsTempName(entry.path()) && !fs::remove(entry.path(), error) && error) {
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
    while (true) {
      ssize_t got = ::pread(fd_.get(), buffer, want, static_cast<off_t>(offset_ + done_));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return ErrnoError(errno, "cannot read", path_);
      if (got == 0) return absl::DataLossError(absl::StrCat(path_.string(), " ended early"));
      done_ += static_cast<uint64_t>(got);
      return static_cast<size_t>(got);
    }
  }

 private:
  UniqueFd fd_;
  const fs::path path_;
  const uint64_t offset_;
  const uint64_t size_;
  uint64_t done_ = 0;
};

absl::StatusOr<uint64_t> RegularFileSize(int fd, const fs::path& path) {
  struct stat info;
  if (::fstat(fd, &info) != 0) return ErrnoError(errno, "cannot stat", path);
  if (!S_ISREG(info.st_mode)) {
    return absl::NotFoundError(absl::StrCat(path.string(), " is not a file"));
  }
  return static_cast<uint64_t>(info.st_size);
}

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
  return WriteAtomically(path, [&](int fd) { return WriteAll(fd, bytes, path); });
}

absl::Status FsContentService::WriteFile(std::string_view video_id, std::string_view filename,
                                         const fs::path& source) {
  ASSIGN_OR_RETURN(fs::path path, PathFor(video_id, filename));
  ASSIGN_OR_RETURN(UniqueFd from, OpenFd(source, O_RDONLY));
  RETURN_IF_ERROR(RegularFileSize(from.get(), source).status());
  return WriteAtomically(path, [&](int fd) { return CopyAll(from.get(), fd, source, path); });
}

absl::StatusOr<std::unique_ptr<ContentReader>> FsContentService::Read(
    std::string_view video_id, std::string_view filename, std::optional<ByteRange> range) {
  ASSIGN_OR_RETURN(fs::path path, PathFor(video_id, filename));
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFd(path, O_RDONLY));
  ASSIGN_OR_RETURN(uint64_t file_size, RegularFileSize(fd.get(), path));
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
                                                   std::string_view filename) {
  ASSIGN_OR_RETURN(fs::path path, PathFor(video_id, filename));
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return ErrnoError(errno, "cannot stat", path);
  if (!S_ISREG(info.st_mode)) {
    return absl::NotFoundError(absl::StrCat(path.string(), " is not a file"));
  }
  return ContentInfo{static_cast<uint64_t>(info.st_size), ""};
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
  return removed == 0 ? absl::OkStatus() : SyncFolder(root_);
}

absl::Status FsContentService::CheckHealth() {
  if (::access(root_.c_str(), W_OK | X_OK) != 0) {
    return absl::UnavailableError(
        absl::StrCat("content root ", root_.string(), " is not writable: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace dvs::content
