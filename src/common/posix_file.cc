#include "common/posix_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"

namespace dvs::common {

namespace fs = std::filesystem;

bool IsTempFileName(std::string_view filename) {
  return absl::StartsWith(AsAbsl(filename), kTempFilePrefix);
}

absl::Status ErrnoError(int error, std::string_view what, const fs::path& path) {
  std::string message = absl::StrCat(AsAbsl(what), " ", path.string(), ": ", std::strerror(error));
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

absl::Status FsError(const std::error_code& error, std::string_view what, const fs::path& path) {
  // libstdc++ reports OS errors in the generic category, others in the system one.
  if (error.category() == std::generic_category() || error.category() == std::system_category()) {
    return ErrnoError(error.value(), what, path);
  }
  return absl::InternalError(absl::StrCat(AsAbsl(what), " ", path.string(), ": ", error.message()));
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status UniqueFd::Close(const fs::path& path) {
  int rc = ::close(std::exchange(fd_, -1));
  return rc == 0 ? absl::OkStatus() : ErrnoError(errno, "cannot close", path);
}

absl::Status UniqueFd::SyncAndClose(const fs::path& path) {
  if (::fsync(fd_) != 0) return ErrnoError(errno, "cannot fsync", path);
  return Close(path);
}

absl::StatusOr<UniqueFd> OpenFd(const fs::path& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError(errno, "cannot open", path);
  return UniqueFd(fd);
}

absl::Status SyncFolder(const fs::path& folder) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFd(folder, O_RDONLY | O_DIRECTORY));
  return fd.SyncAndClose(folder);
}

absl::Status EnsureFolder(const fs::path& folder) {
  if (::mkdir(folder.c_str(), 0755) == 0) return SyncFolder(folder.parent_path());
  if (errno == EEXIST) return absl::OkStatus();
  return ErrnoError(errno, "cannot create folder", folder);
}

namespace {

absl::Status Rename(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) == 0) return absl::OkStatus();
  return ErrnoError(errno, absl::StrCat("cannot rename ", from.string(), " to"), to);
}

}  // namespace

absl::Status RenameDurably(const fs::path& from, const fs::path& to) {
  RETURN_IF_ERROR(Rename(from, to));
  return SyncFolder(to.parent_path());
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

absl::StatusOr<size_t> PreadSome(int fd, char* buffer, size_t size, uint64_t offset,
                                 const fs::path& path) {
  while (true) {
    ssize_t got = ::pread(fd, buffer, size, static_cast<off_t>(offset));
    if (got >= 0) return static_cast<size_t>(got);
    if (errno != EINTR) return ErrnoError(errno, "cannot read", path);
  }
}

absl::Status PreadExactly(int fd, char* buffer, size_t size, uint64_t offset,
                          const fs::path& path) {
  size_t done = 0;
  while (done < size) {
    ASSIGN_OR_RETURN(size_t got, PreadSome(fd, buffer + done, size - done, offset + done, path));
    if (got == 0) {
      return absl::DataLossError(absl::StrCat(path.string(), " ends before byte ", offset + size));
    }
    done += got;
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<uint64_t> RegularFileSize(const struct stat& info, const fs::path& path) {
  if (!S_ISREG(info.st_mode)) {
    return absl::NotFoundError(absl::StrCat(path.string(), " is not a regular file"));
  }
  return static_cast<uint64_t>(info.st_size);
}

}  // namespace

absl::StatusOr<uint64_t> FileSize(const fs::path& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return ErrnoError(errno, "cannot stat", path);
  return RegularFileSize(info, path);
}

absl::StatusOr<uint64_t> FileSize(int fd, const fs::path& path) {
  struct stat info;
  if (::fstat(fd, &info) != 0) return ErrnoError(errno, "cannot stat", path);
  return RegularFileSize(info, path);
}

absl::StatusOr<TempFile> TempFile::Create(const fs::path& final_path) {
  std::string pattern = (final_path.parent_path() /
                         absl::StrCat(kTempFilePrefix, final_path.filename().string(), "-XXXXXX"))
                            .string();
  int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot create temp file in", final_path.parent_path());
  TempFile temp(UniqueFd(fd), pattern);
  // mkostemp makes the file 0600; stored files are readable like any other.
  if (::fchmod(fd, 0644) != 0) return ErrnoError(errno, "cannot chmod", temp.path_);
  return temp;
}

TempFile::TempFile(UniqueFd fd, fs::path path) : fd_(std::move(fd)), path_(std::move(path)) {}

TempFile::TempFile(TempFile&& other) noexcept
    : fd_(std::move(other.fd_)),
      path_(std::move(other.path_)),
      committed_(std::exchange(other.committed_, true)) {}

TempFile::~TempFile() {
  if (!committed_) ::unlink(path_.c_str());
}

absl::Status TempFile::CommitAs(const fs::path& final_path) {
  RETURN_IF_ERROR(fd_.SyncAndClose(path_));
  RETURN_IF_ERROR(Rename(path_, final_path));
  // From here the temp name is gone: the destructor must not unlink it even
  // when the folder sync fails (another temp file may take the name).
  committed_ = true;
  return SyncFolder(final_path.parent_path());
}

absl::Status WriteFileAtomically(const fs::path& path,
                                 const std::function<absl::Status(int fd)>& fill) {
  ASSIGN_OR_RETURN(TempFile temp, TempFile::Create(path));
  RETURN_IF_ERROR(fill(temp.fd()));
  return temp.CommitAs(path);
}

absl::Status WriteFileAtomically(const fs::path& path, std::string_view bytes) {
  return WriteFileAtomically(path, [&](int fd) { return WriteAll(fd, bytes, path); });
}

}  // namespace dvs::common
