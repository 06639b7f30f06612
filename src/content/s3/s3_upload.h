// Writing objects to S3: one PUT for a small file, a multipart upload for a
// large one (parts of part_size bytes, at least 5 MiB, and at most 1000 of
// them), each PUT retried on its own when the store is unavailable. Every
// body goes with its real SHA-256 as x-amz-content-sha256, so the store
// refuses bytes that changed on the way, and the whole file's SHA-256 is
// kept as the object's x-amz-meta-sha256, which reads check. Files stream
// from disk: a part is hashed, then sent, from the open file; nothing is held
// whole in memory. Plain functions; thread-safe as S3Client is.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "content/s3/s3_client.h"

namespace dvs::content::s3 {

// The user metadata header that holds an object's SHA-256 (hex).
inline constexpr char kSha256MetaHeader[] = "x-amz-meta-sha256";

struct UploadOptions {
  uint64_t multipart_threshold = 16ull << 20;  // files larger go in parts
  uint64_t part_size = 16ull << 20;            // raised when 1000 parts would not do
  int attempts = 3;                            // of each PUT, on Unavailable
  std::chrono::milliseconds retry_delay{250};  // doubled after each failure
};

// Stores `bytes` as `key`.
[[nodiscard]] absl::Status PutBytes(S3Client& client, const std::string& key,
                                    std::string_view bytes, const UploadOptions& options);

// Stores the file at `source` as `key`, in parts above the threshold.
[[nodiscard]] absl::Status PutFile(S3Client& client, const std::string& key,
                                   const std::filesystem::path& source,
                                   const UploadOptions& options);

// The part size for a file of `size` bytes: options.part_size, raised to a
// whole MiB so that at most 1000 parts are needed, and never under 5 MiB.
uint64_t PartSizeFor(uint64_t size, const UploadOptions& options);

// Runs `call` up to `attempts` times while it fails with Unavailable,
// waiting `delay` (then twice as long, and so on) between tries.
[[nodiscard]] absl::Status WithRetries(int attempts, std::chrono::milliseconds delay,
                                       const std::function<absl::Status()>& call);

}  // namespace dvs::content::s3
