// Free space on the work folder, checked before an upload is accepted (its
// declared length must fit) and before each transcoding job: a full disk
// gives a clear 507 (or a job retried later) instead of a half-written file.
// Thread-safe (stateless).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::web {

// Bytes an unprivileged process may still write under `dir` (statvfs).
[[nodiscard]] absl::StatusOr<uint64_t> FreeBytes(const std::filesystem::path& dir);

// What an upload of `declared_length` bytes (nullopt: chunked, unknown) will
// take on the work folder: the spooled source, and as much again for the
// renditions ffmpeg writes there before they are stored (a ladder of the
// standard heights rarely outweighs its source).
uint64_t UploadNeeds(std::optional<uint64_t> declared_length);

// OK when `needed` more bytes leave at least `min_free` of `free` free; else
// InsufficientStorageError (507; ResourceExhausted for jobs, which retry it)
// that says how much is needed and free. Pure.
absl::Status SpaceVerdict(uint64_t free, uint64_t needed, uint64_t min_free,
                          const std::filesystem::path& dir);

// SpaceVerdict with the free space of `dir` now. A folder whose free space
// cannot be read is not refused (a warning is logged): the writes will tell.
absl::Status CheckFreeSpace(const std::filesystem::path& dir, uint64_t needed, uint64_t min_free);

}  // namespace dvs::web
