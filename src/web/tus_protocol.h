// The header grammar of tus 1.0 (resumable uploads, https://tus.io): the
// version, Upload-Metadata, Upload-Checksum, offsets and lengths, and the
// digests a chunk is checked with. Pure functions over header values, and a
// ChunkDigest object that is not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::web::tus {

inline constexpr std::string_view kVersion = "1.0.0";
inline constexpr std::string_view kExtensions =
    "creation,creation-with-upload,termination,checksum,expiration";
inline constexpr std::string_view kChecksumAlgorithms = "sha1,sha256";
inline constexpr std::string_view kChunkContentType = "application/offset+octet-stream";

// A whole decimal number without sign or spaces, as Upload-Offset and
// Upload-Length are; `name` is the header's, for the error.
[[nodiscard]] absl::StatusOr<uint64_t> ParseCount(std::optional<std::string_view> value,
                                                  std::string_view name);

// Upload-Metadata: comma-separated "key base64(value)" pairs (the value may
// be missing). Keys are unique and non-empty; a bad pair is InvalidArgument.
[[nodiscard]] absl::StatusOr<std::map<std::string, std::string>> ParseMetadata(
    std::string_view header);

enum class Algorithm { kSha1, kSha256 };

// Upload-Checksum: "<algorithm> <base64 digest>". An algorithm other than
// sha1 and sha256 is InvalidArgument (the spec's 400), as is a digest of the
// wrong length.
struct Checksum {
  Algorithm algorithm;
  std::string digest;  // raw bytes
};
[[nodiscard]] absl::StatusOr<Checksum> ParseChecksum(std::string_view header);

// The digest of a chunk as it streams by.
class ChunkDigest {
 public:
  explicit ChunkDigest(Algorithm algorithm);
  ~ChunkDigest();
  ChunkDigest(const ChunkDigest&) = delete;
  ChunkDigest& operator=(const ChunkDigest&) = delete;

  void Update(std::string_view bytes);
  // The raw digest of everything passed to Update; ends the object's use.
  std::string Final();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

// An instant as an HTTP date (RFC 9110 IMF-fixdate), for Upload-Expires.
std::string HttpDate(int64_t unix_ms);

}  // namespace dvs::web::tus
