#include "jobs/process_id_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status.h"
#include "jobs/process_heartbeat.h"

namespace dvs::jobs {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxIdBytes = 64;

absl::StatusOr<std::string> ReadId(int fd, const fs::path& path) {
  char buffer[kMaxIdBytes + 1];
  ssize_t got = ::pread(fd, buffer, sizeof(buffer), 0);
  if (got < 0) return common::ErrnoError(errno, "cannot read", path);
  std::string id(absl::StripAsciiWhitespace(absl::string_view(buffer, static_cast<size_t>(got))));
  return common::ValidateName(id).ok() && id.size() <= kMaxIdBytes ? id : std::string();
}

absl::Status WriteId(int fd, const fs::path& path, const std::string& id) {
  const std::string line = id + "\n";
  if (::ftruncate(fd, 0) != 0) return common::ErrnoError(errno, "cannot truncate", path);
  if (::pwrite(fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
    return common::ErrnoError(errno, "cannot write", path);
  }
  if (::fsync(fd) != 0) return common::ErrnoError(errno, "cannot fsync", path);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ProcessIdFile> ProcessIdFile::Lock(const fs::path& work_dir) {
  std::error_code ec;
  fs::create_directories(work_dir, ec);
  if (ec) return common::FsError(ec, "cannot create folder", work_dir);
  const fs::path path = work_dir / "process-id";
  common::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return common::ErrnoError(errno, "cannot open", path);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return common::ErrnoError(errno, "cannot lock", path);
    return absl::FailedPreconditionError(
        absl::StrCat("another dvs process uses the work folder ", work_dir.string(),
                     " (it holds the lock on ", path.string(), "); give each its own --work-dir"));
  }
  ASSIGN_OR_RETURN(std::string id, ReadId(fd.get(), path));
  if (id.empty()) {
    id = NewProcessId();
    RETURN_IF_ERROR(WriteId(fd.get(), path, id));
  }
  return ProcessIdFile(std::move(fd), std::move(id));
}

}  // namespace dvs::jobs
