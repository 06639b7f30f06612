// POSIX file helpers shared by everything that keeps files on a local disk
// (the blob store, the filesystem content service): an owned descriptor,
// errno as absl::Status, and the fsync steps that make a write durable.
//
// Durability model: a file's bytes are fsynced before a rename makes them
// visible under their final name, and the folder is fsynced after the rename
// (or a create or remove) so that the name change itself survives a crash.
//
// Thread safety: the free functions are safe to call from many threads at
// once; a UniqueFd or TempFile object is not thread-safe.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::common {

// Temp files start with this. '.' never starts a name that ValidateName
// accepts, so a temp file can never be mistaken for, or collide with, a
// stored file, and leftovers are easy to find after a crash.
inline constexpr char kTempFilePrefix[] = ".tmp-";

// True when `filename` (no folder part) is one of our temp files.
bool IsTempFileName(std::string_view filename);

// `errno` after a failed call on `path`, with the most specific code:
// NotFound, PermissionDenied, ResourceExhausted (disk full) or Internal.
absl::Status ErrnoError(int error, std::string_view what, const std::filesystem::path& path);

// The same for the std::error_code that std::filesystem reports.
absl::Status FsError(const std::error_code& error, std::string_view what,
                     const std::filesystem::path& path);

// An owned file descriptor. Close() reports the error close(2) can carry for
// written files; the destructor is the fallback on error paths.
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
  // fsync, then Close: the bytes written are on disk once this returns OK.
  [[nodiscard]] absl::Status SyncAndClose(const std::filesystem::path& path);

 private:
  int fd_;
};

// open(2) with O_CLOEXEC added; `mode` matters only with O_CREAT.
[[nodiscard]] absl::StatusOr<UniqueFd> OpenFd(const std::filesystem::path& path, int flags,
                                              mode_t mode = 0644);
// fsync of a folder makes the names created, renamed or removed in it durable.
[[nodiscard]] absl::Status SyncFolder(const std::filesystem::path& folder);
// Creates `folder` when missing and makes its entry in the parent durable, or
// a crash could lose the folder with the files inside it.
[[nodiscard]] absl::Status EnsureFolder(const std::filesystem::path& folder);
// rename(2), then SyncFolder of the target's folder.
[[nodiscard]] absl::Status RenameDurably(const std::filesystem::path& from,
                                         const std::filesystem::path& to);

[[nodiscard]] absl::Status WriteAll(int fd, std::string_view bytes,
                                    const std::filesystem::path& path);
// One pread(2) of up to `size` bytes at `offset`, retried on EINTR; the count
// read, 0 at the end of the file.
[[nodiscard]] absl::StatusOr<size_t> PreadSome(int fd, char* buffer, size_t size, uint64_t offset,
                                               const std::filesystem::path& path);
// Reads exactly `size` bytes at `offset`; DataLoss when the file is shorter
// (a stored file that lost bytes is damage, not a caller's mistake).
[[nodiscard]] absl::Status PreadExactly(int fd, char* buffer, size_t size, uint64_t offset,
                                        const std::filesystem::path& path);

// The size of a regular file; NotFound when missing or not a regular file.
[[nodiscard]] absl::StatusOr<uint64_t> FileSize(const std::filesystem::path& path);
// The same for an open file (`path` only names it in errors).
[[nodiscard]] absl::StatusOr<uint64_t> FileSize(int fd, const std::filesystem::path& path);

// A temp file beside its final path, mode 0644; removed unless CommitAs
// succeeds.
class TempFile {
 public:
  [[nodiscard]] static absl::StatusOr<TempFile> Create(const std::filesystem::path& final_path);
  TempFile(TempFile&& other) noexcept;
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile();

  int fd() const { return fd_.get(); }
  const std::filesystem::path& path() const { return path_; }

  // Durable before visible: fsync, close, rename over `final_path`, fsync of
  // the folder.
  [[nodiscard]] absl::Status CommitAs(const std::filesystem::path& final_path);

 private:
  TempFile(UniqueFd fd, std::filesystem::path path);

  UniqueFd fd_;
  std::filesystem::path path_;
  bool committed_ = false;
};

// Replaces `path` whole or not at all: `fill` writes the content to a temp
// file's descriptor, which TempFile::CommitAs then makes durable and visible.
// The folder of `path` must exist.
[[nodiscard]] absl::Status WriteFileAtomically(const std::filesystem::path& path,
                                               const std::function<absl::Status(int fd)>& fill);
[[nodiscard]] absl::Status WriteFileAtomically(const std::filesystem::path& path,
                                               std::string_view bytes);

}  // namespace dvs::common
