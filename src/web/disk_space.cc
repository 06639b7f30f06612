#include "web/disk_space.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <system_error>

#include "absl/strings/str_format.h"
#include "common/posix_file.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace dvs::web {
namespace {

namespace fs = std::filesystem;

std::string Megabytes(uint64_t bytes) {
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
}

// The folder itself, or its nearest existing parent (the work folder's
// subfolders are made on first use).
fs::path ExistingFolder(fs::path dir) {
  std::error_code ec;
  while (!dir.empty() && !fs::exists(dir, ec) && dir.has_parent_path() &&
         dir != dir.parent_path()) {
    dir = dir.parent_path();
  }
  return dir.empty() ? fs::path(".") : dir;
}

}  // namespace

absl::StatusOr<uint64_t> FreeBytes(const fs::path& dir) {
  const fs::path folder = ExistingFolder(dir);
  struct statvfs stats {};
  if (::statvfs(folder.c_str(), &stats) != 0) {
    return common::ErrnoError(errno, "cannot read the free space of", folder);
  }
  return static_cast<uint64_t>(stats.f_bavail) * stats.f_frsize;
}

uint64_t UploadNeeds(std::optional<uint64_t> declared_length) {
  if (!declared_length) return 0;
  const uint64_t length = *declared_length;
  return length > UINT64_MAX / 2 ? UINT64_MAX : length * 2;
}

absl::Status SpaceVerdict(uint64_t free, uint64_t needed, uint64_t min_free, const fs::path& dir) {
  if (free >= min_free && free - min_free >= needed) return absl::OkStatus();
  if (needed == 0) {  // the check before a job: the reserve alone
    return common::InsufficientStorageError(absl::StrFormat(
        "not enough free space on the server: %s free in %s, under the %s kept free "
        "(--min-free-mb)",
        Megabytes(free), dir.string(), Megabytes(min_free)));
  }
  return common::InsufficientStorageError(absl::StrFormat(
      "not enough free space on the server: %s needed in %s, %s free of which %s is kept free "
      "(--min-free-mb)",
      Megabytes(needed), dir.string(), Megabytes(free), Megabytes(min_free)));
}

absl::Status CheckFreeSpace(const fs::path& dir, uint64_t needed, uint64_t min_free) {
  absl::StatusOr<uint64_t> free = FreeBytes(dir);
  if (!free.ok()) {
    spdlog::warn("{}", free.status().message());
    return absl::OkStatus();
  }
  return SpaceVerdict(*free, needed, min_free, dir);
}

}  // namespace dvs::web
