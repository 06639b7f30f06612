// Thin POSIX file helpers for the blob store: an owned descriptor, errno as
// absl::Status, and the fsync steps that make a rename durable.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::storage {

// `errno` after a failed call on `path`, with the most specific code:
// NotFound, PermissionDenied, ResourceExhausted (disk full) or Internal.
absl::Status ErrnoError(int error, std::string_view what, const std::filesystem::path& path);

// An owned file descriptor. Close() reports the error close(2) can carry for
// written files; the destructor is the fallback on error paths. Not
// thread-safe.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  [[nodiscard]] absl::Status Close(const std::filesystem::path& path);

 private:
  int fd_;
};

[[nodiscard]] absl::StatusOr<UniqueFd> OpenFd(const std::filesystem::path& path, int flags,
                                              mode_t mode = 0644);
// fsync of a folder makes the names created, renamed or removed in it durable.
[[nodiscard]] absl::Status SyncFolder(const std::filesystem::path& folder);
// Creates `folder` when missing and makes its entry in the parent durable.
[[nodiscard]] absl::Status EnsureFolder(const std::filesystem::path& folder);
[[nodiscard]] absl::Status WriteAll(int fd, std::string_view bytes,
                                    const std::filesystem::path& path);
// Reads exactly `size` bytes at `offset`; DataLoss when the file is shorter
// (a stored file that lost bytes is damage, not a caller's mistake).
[[nodiscard]] absl::Status PreadExactly(int fd, char* buffer, size_t size, uint64_t offset,
                                        const std::filesystem::path& path);
// The size of a regular file; NotFound when missing.
[[nodiscard]] absl::StatusOr<uint64_t> FileSize(const std::filesystem::path& path);

}  // namespace dvs::storage
