// The blob store's index: for every stored blob its key, size, SHA-256 and
// the SHA-256 of each kBlockSize block, in SQLite (WAL, synchronous=FULL) so
// that it survives restarts and crashes. Keys about to be replaced are marked
// "pending" first, so that after a crash between a rename and the index
// update the store knows which files to re-index (see BlobStore).
//
// Thread-safe: one SQLite connection, every call serialized by a mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/blob.h"

struct sqlite3;

namespace dvs::storage {

struct IndexEntry {
  BlobInfo blob;
  // The SHA-256 (64 hex digits) of each kBlockSize block, concatenated.
  std::string block_sha256;
};

struct IndexTotals {
  uint64_t blob_count = 0;
  uint64_t bytes = 0;
};

class BlobIndex {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<BlobIndex>> Open(
      const std::filesystem::path& db_path);
  ~BlobIndex();
  BlobIndex(const BlobIndex&) = delete;
  BlobIndex& operator=(const BlobIndex&) = delete;

  [[nodiscard]] absl::StatusOr<std::optional<IndexEntry>> Find(std::string_view key);
  // Inserts or replaces the entry and clears the key's pending mark.
  [[nodiscard]] absl::Status Upsert(const IndexEntry& entry);
  // Removes the entry and its pending mark; OK when there was none.
  [[nodiscard]] absl::Status Remove(std::string_view key);
  [[nodiscard]] absl::Status MarkPending(std::string_view key);
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> PendingKeys();
  // Up to `limit` blobs with keys after `after`, in key order; only those
  // directly in `folder` ("clip" or "clip/<generation>") unless it is empty.
  [[nodiscard]] absl::StatusOr<std::vector<BlobInfo>> ListPage(std::string_view folder,
                                                               std::string_view after,
                                                               size_t limit);
  [[nodiscard]] absl::StatusOr<IndexTotals> Totals();

 private:
  explicit BlobIndex(sqlite3* db);
  [[nodiscard]] absl::Status ExecLocked(const char* sql);

  std::mutex mutex_;
  sqlite3* db_;  // GUARDED_BY(mutex_)
};

}  // namespace dvs::storage
