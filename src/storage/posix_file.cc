#include "storage/posix_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"

namespace dvs::storage {

namespace fs = std::filesystem;

absl::Status ErrnoError(int error, std::string_view what, const fs::path& path) {
  std::string message =
      absl::StrCat(common::AsAbsl(what), " ", path.string(), ": ", std::strerror(error));
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

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status UniqueFd::Close(const fs::path& path) {
  int rc = ::close(std::exchange(fd_, -1));
  return rc == 0 ? absl::OkStatus() : ErrnoError(errno, "cannot close", path);
}

absl::StatusOr<UniqueFd> OpenFd(const fs::path& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError(errno, "cannot open", path);
  return UniqueFd(fd);
}

absl::Status SyncFolder(const fs::path& folder) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFd(folder, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) != 0) return ErrnoError(errno, "cannot fsync", folder);
  return fd.Close(folder);
}

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

absl::Status PreadExactly(int fd, char* buffer, size_t size, uint64_t offset,
                          const fs::path& path) {
  size_t done = 0;
  while (done < size) {
    ssize_t got = ::pread(fd, buffer + done, size - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoError(errno, "cannot read", path);
    if (got == 0) {
      return absl::DataLossError(absl::StrCat(path.string(), " ends before byte ", offset + size));
    }
    done += static_cast<size_t>(got);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FileSize(const fs::path& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return ErrnoError(errno, "cannot stat", path);
  if (!S_ISREG(info.st_mode)) {
    return absl::NotFoundError(absl::StrCat(path.string(), " is not a regular file"));
  }
  return static_cast<uint64_t>(info.st_size);
}

}  // namespace dvs::storage
