#include "common/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace dvs::common {

absl::StatusOr<FileLock> FileLock::Acquire(const std::filesystem::path& path,
                                           std::string_view what) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return FsError(ec, "cannot create folder", path.parent_path());
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoError(errno, "cannot open", path);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return ErrnoError(errno, "cannot lock", path);
    return absl::FailedPreconditionError(
        absl::StrCat("another dvs process uses ", AsAbsl(what), " ", path.string(),
                     " (it holds the lock on it); stop it, or give this one its own"));
  }
  return FileLock(std::move(fd));
}

}  // namespace dvs::common
