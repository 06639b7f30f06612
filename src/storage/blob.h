// What the storage server stores and reports: blobs named "folder/filename"
// with their size and SHA-256, where the folder is a video folder as
// common::ValidateFolder defines it ("clip" or "clip/0123abcd0123abcd"), so a
// key has two or three parts. Shared by the blob store, the gRPC service and
// the client; no gRPC here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status.h"
#include "common/strings.h"

namespace dvs::storage {

// The unit of per-block checksums on disk and of chunks on the wire: a ranged
// read verifies only the blocks it covers, and no message exceeds a block.
inline constexpr size_t kBlockSize = 1 << 20;

// A copy carries its source's block checksums (64 hex digits a block) in
// one message only up to this many blocks (16 GiB): that message stays at
// 1 MiB plus a chunk. Larger blobs are copied as checked reads, hashed again
// block by block where they land.
inline constexpr uint64_t kMaxCopyChecksumBlocks = 16384;

struct BlobInfo {
  std::string key;  // "folder/filename"
  uint64_t size = 0;
  std::string sha256;  // 64 lowercase hex digits
  bool operator==(const BlobInfo&) const = default;
};

enum class PutOutcome {
  kCreated,    // the key was not stored before
  kReplaced,   // the key held different content
  kUnchanged,  // the key held this content already
};

struct PutResult {
  BlobInfo blob;
  PutOutcome outcome = PutOutcome::kCreated;
};

struct NodeInfo {
  std::string node_id;
  uint64_t bytes_used = 0;
  uint64_t bytes_free = 0;
  uint64_t blob_count = 0;
  // Damaged blobs not yet stored again (at most kMaxCorruptKeysReported of
  // them), their count in all, and the scrub passes finished.
  std::vector<std::string> corrupt_keys;
  uint64_t corrupt_count = 0;
  uint64_t scrub_passes = 0;
};

inline constexpr size_t kMaxCorruptKeysReported = 1000;

inline std::string MakeKey(std::string_view folder, std::string_view filename) {
  return absl::StrCat(common::AsAbsl(folder), "/", common::AsAbsl(filename));
}

// The folder and file name of a key, split at its last '/': the folder
// checked by common::ValidateFolder and the file name by common::ValidateName,
// so a valid key can never name a path outside the store's folder.
[[nodiscard]] inline absl::StatusOr<std::pair<std::string_view, std::string_view>> SplitKey(
    std::string_view key) {
  size_t slash = key.rfind('/');
  if (slash == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("key \"", common::AsAbsl(key), "\" is not folder/filename"));
  }
  std::string_view folder = key.substr(0, slash);
  std::string_view filename = key.substr(slash + 1);
  RETURN_IF_ERROR(common::ValidateFolder(folder, "video folder"));
  RETURN_IF_ERROR(common::ValidateName(filename, "file name"));
  return std::pair{folder, filename};
}

[[nodiscard]] inline absl::Status ValidateKey(std::string_view key) {
  return SplitKey(key).status();
}

// OK for 64 lowercase hex digits, the form every dvs SHA-256 takes.
[[nodiscard]] inline absl::Status ValidateSha256Hex(std::string_view hex) {
  bool ok = hex.size() == 64;
  for (char c : hex) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError("sha256 must be 64 lowercase hex digits");
}

// OK for the block checksums of a blob of `size` bytes: 64 lowercase hex
// digits for each kBlockSize block (the last one may be short).
[[nodiscard]] inline absl::Status ValidateBlockSha256(std::string_view hex, uint64_t size) {
  const uint64_t blocks = (size + kBlockSize - 1) / kBlockSize;
  if (hex.size() != blocks * 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("block checksums must be 64 hex digits for each ", kBlockSize,
                     "-byte block: ", blocks, " blocks, got ", hex.size(), " digits"));
  }
  for (size_t i = 0; i < hex.size(); i += 64) RETURN_IF_ERROR(ValidateSha256Hex(hex.substr(i, 64)));
  return absl::OkStatus();
}

}  // namespace dvs::storage
