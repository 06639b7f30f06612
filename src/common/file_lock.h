// An exclusive advisory lock (flock) on a file, held for as long as the
// FileLock lives: two dvs processes can never use one SQLite file (or one
// work folder) by accident. flock is apart from the POSIX record locks
// SQLite takes on the same file, so neither disturbs the other; the lock's
// descriptor must stay open while SQLite uses the file (closing any
// descriptor of a file drops the process's POSIX locks on it).
// Thread-compatible.
#pragma once

#include <filesystem>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/posix_file.h"

namespace dvs::common {

class FileLock {
 public:
  // Opens (creating it if missing, with its folder) and locks `path`.
  // FailedPrecondition, naming `what` and the file, when another process
  // (or another FileLock) holds it.
  [[nodiscard]] static absl::StatusOr<FileLock> Acquire(const std::filesystem::path& path,
                                                        std::string_view what);

  int fd() const { return fd_.get(); }

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace dvs::common
