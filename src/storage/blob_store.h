// BlobStore: the storage server's blobs on local disk, no gRPC.
//
// A blob is named "folder/filename" and lives at DIR/blobs/<folder>/<filename>.
// The folder is a video folder: "<video_id>" (the legacy form) or
// "<video_id>/<generation>" (common::ValidateFolder); the file name passes
// common::ValidateName, so no key can reach a path outside the store. DIR/index.db (BlobIndex)
// holds each blob's size, SHA-256 and per-block SHA-256; DIR/node-id the node's stable random id;
// DIR/LOCK keeps a second process off the folder.
//
// Promises:
// - A put is whole or nothing: bytes go to a temp file in the blob's folder,
//   are checked against the declared size and SHA-256, fsynced, renamed over
//   the key and the folder fsynced before Commit reports success. Identical
//   content again is OK (and rewrites the file, which repairs a damaged
//   copy); different content replaces the old atomically.
// - A read yields only bytes whose block checksum matches; otherwise
//   DataLoss, never data. (ReadForCopy is the one exception: its receiver
//   checks every byte against the blob's SHA-256 instead.)
// - Open cleans up after a crash: temp files are removed, and the index is
//   reconciled with the files (see Recover in blob_store.cc).
//
// Thread safety: every method may be called from many threads at once. Puts
// of different keys run in parallel; a key's commit, the opening of a read
// of it and its deletion are serialized by a per-key lock, so a reader always
// pairs a file with its own index entry. An opened reader keeps reading the
// file it opened even when the key is replaced or deleted meanwhile.
// BlobWriter and BlobReader objects are not thread-safe; they must not
// outlive their store.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/posix_file.h"
#include "common/sha256.h"
#include "storage/blob.h"
#include "storage/blob_index.h"

namespace dvs::storage {

class BlobStore;

// The bytes of one put, appended in order and stored by Commit. Destroying a
// writer that was not committed removes its temp file (and its video folder,
// and a two-level folder's <video_id> parent, when that leaves them empty):
// nothing is stored.
//
// Large puts and copies bypass the page cache (O_DIRECT, where the file
// system allows it): the bytes gather in an aligned block-sized buffer that
// goes to disk whole, which costs a fraction of the CPU time of copying every
// byte into the page cache and writing it back later. Other puts are written
// through the page cache, so a segment just stored is served from memory.
class BlobWriter {
 public:
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  // InvalidArgument when the bytes run past the declared size.
  [[nodiscard]] absl::Status Append(std::string_view bytes);
  // InvalidArgument ("size/checksum does not match") unless the bytes match
  // the declared size and SHA-256; then nothing is stored. For a copy (block
  // checksums given to BeginPut), a SHA-256 mismatch is DataLoss instead:
  // the source sent damaged bytes.
  [[nodiscard]] absl::StatusOr<PutResult> Commit();

 private:
  friend class BlobStore;
  struct FreeDeleter {
    void operator()(char* buffer) const;
  };
  // `block_sha256` empty: the block checksums are computed here.
  BlobWriter(BlobStore* store, BlobInfo expected, std::string block_sha256,
             std::filesystem::path temp_path, common::UniqueFd fd);
  // Turns on the aligned-buffer path, with O_DIRECT when the file system
  // takes it.
  void UseDirectWrites();
  // Feeds bytes that follow the ones hashed so far to the checksums.
  void Hash(std::string_view bytes);
  void FinishBlock();
  // Writes the buffer's bytes at their place in the file (rounded up to the
  // alignment O_DIRECT needs; Commit truncates the padding away).
  [[nodiscard]] absl::Status WriteBuffer();

  BlobStore* store_;
  BlobInfo expected_;
  std::filesystem::path temp_path_;
  common::UniqueFd fd_;
  common::Sha256 whole_;
  std::optional<common::Sha256> block_;  // unset when the checksums were given
  std::string block_sha256_;
  uint64_t written_ = 0;  // bytes appended (and hashed)
  // The aligned-buffer path: the buffer, its bytes not yet written, and the
  // file offset they go to.
  std::unique_ptr<char, FreeDeleter> buffer_;
  size_t buffered_ = 0;
  uint64_t buffer_offset_ = 0;
  bool closed_ = false;  // Commit was called: no more Append or Commit
  bool stored_ = false;  // the temp file became the blob
};

// A byte range of one blob, yielded block by block after each block's
// checksum is verified.
class BlobReader {
 public:
  const BlobInfo& blob() const { return entry_.blob; }
  // Bytes in the range.
  uint64_t size() const { return end_ - begin_; }
  // False only for a reader from ReadForCopy, which leaves the checks to
  // the receiver.
  bool checked() const { return verify_; }
  // The stored SHA-256 of each kBlockSize block, 64 hex digits each.
  const std::string& block_sha256() const { return entry_.block_sha256; }
  // The next piece of the range (at most kBlockSize bytes), valid until the
  // next call; empty at the end. DataLoss when the stored bytes fail their
  // checksum.
  [[nodiscard]] absl::StatusOr<std::string_view> Next();
  // As Next, with the piece read straight into `out` (replacing what it
  // held) rather than copied out of the reader's own buffer.
  [[nodiscard]] absl::Status NextInto(std::string& out);

 private:
  friend class BlobStore;
  BlobReader(common::UniqueFd fd, std::filesystem::path path, IndexEntry entry, uint64_t begin,
             uint64_t end);
  // Reads the block holding position_ into `buffer` (room for kBlockSize),
  // checks it unless verify_ is off, and moves past the range's part of it:
  // that part's offset in `buffer` and its length.
  [[nodiscard]] absl::StatusOr<std::pair<size_t, size_t>> ReadBlock(char* buffer);

  common::UniqueFd fd_;
  std::filesystem::path path_;
  IndexEntry entry_;
  uint64_t begin_;
  uint64_t end_;
  uint64_t position_;
  bool verify_ = true;  // off only for BlobStore::ReadForCopy
  std::vector<char> block_;
};

class BlobStore {
 public:
  // Opens (creating when missing) the store in `dir` and recovers it.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<BlobStore>> Open(
      const std::filesystem::path& dir);
  ~BlobStore();
  BlobStore(const BlobStore&) = delete;
  BlobStore& operator=(const BlobStore&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  const std::string& node_id() const { return node_id_; }

  // Starts a put of `size` bytes whose SHA-256 is `sha256`. InvalidArgument
  // for a bad key or digest; ResourceExhausted when the disk lacks the space.
  // A copy from another node passes the source's `block_sha256` (64 hex
  // digits per block, as BlobReader::block_sha256 gives them): the writer
  // then checks the whole SHA-256 only, which proves the bytes are the
  // blob's, and keeps these block checksums.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<BlobWriter>> BeginPut(
      std::string_view key, uint64_t size, std::string_view sha256,
      std::string_view block_sha256 = "");
  // BeginPut + Append + Commit of bytes in memory.
  [[nodiscard]] absl::StatusOr<PutResult> Put(std::string_view key, std::string_view bytes,
                                              std::string_view sha256);
  // `length` bytes from `offset`; length 0 reads to the end. NotFound when
  // missing, OutOfRange when the range lies past the end.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<BlobReader>> Read(std::string_view key,
                                                                 uint64_t offset = 0,
                                                                 uint64_t length = 0);
  // The whole blob for a copy to another node: its bytes are not checked
  // against their block checksums here, since the receiver checks them all
  // against the blob's SHA-256 (BeginPut with this reader's block_sha256) and
  // refuses a damaged copy. Hashing once instead of twice is what makes
  // copies cheap; nothing else may use this. A blob of more than
  // kMaxCopyChecksumBlocks blocks is read checked all the same.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<BlobReader>> ReadForCopy(std::string_view key);
  [[nodiscard]] absl::StatusOr<BlobInfo> Stat(std::string_view key);
  // Up to `limit` blobs with keys after `after`, in key order; only those
  // directly in `folder` unless it is empty. The legacy folder "clip" does
  // not include the blobs of its generations "clip/<generation>".
  [[nodiscard]] absl::StatusOr<std::vector<BlobInfo>> ListPage(std::string_view folder,
                                                               std::string_view after,
                                                               size_t limit);
  // The number of blobs removed (0 when the key was not stored).
  [[nodiscard]] absl::StatusOr<uint64_t> Delete(std::string_view key);
  // Every blob directly in `folder` (not those of other generations of the
  // same video); then the folder, and the <video_id> parent of a two-level
  // folder when that is left empty.
  [[nodiscard]] absl::StatusOr<uint64_t> DeleteVideo(std::string_view folder);
  [[nodiscard]] absl::StatusOr<NodeInfo> Info();

  // Blobs found damaged (by the scrubber): a key stays listed until a put
  // stores it again (a repair) or it is deleted. Kept in memory here (the
  // scrubber checkpoints them). Marks the blob `damaged` read only when it is
  // still the one stored under its key: a put or delete that came while it
  // was being read is not undone by a stale mark. True when marked.
  bool MarkCorrupt(const BlobReader& damaged);
  // Up to `limit` of the keys marked corrupt, in key order, and how many
  // there are in all.
  std::pair<std::vector<std::string>, uint64_t> CorruptKeys(size_t limit) const;

 private:
  friend class BlobWriter;
  BlobStore(std::filesystem::path dir, common::UniqueFd lock_fd, std::string node_id,
            std::unique_ptr<BlobIndex> index);

  // `folder` is a valid video folder (one or two levels).
  std::filesystem::path PathFor(std::string_view folder, std::string_view filename) const;
  std::filesystem::path FolderFor(std::string_view folder) const;
  std::mutex& KeyLock(std::string_view key);
  // Creates both levels of a two-level folder, durably.
  [[nodiscard]] absl::Status EnsureVideoFolder(std::string_view folder);
  [[nodiscard]] absl::StatusOr<common::UniqueFd> CreateTempFile(std::string_view folder,
                                                                std::string_view filename,
                                                                std::filesystem::path& temp_path);
  [[nodiscard]] absl::StatusOr<PutResult> CommitPut(const IndexEntry& entry,
                                                    const std::filesystem::path& temp_path);
  [[nodiscard]] absl::StatusOr<uint64_t> DeleteBlob(std::string_view key);
  // Removes the folder when it is empty and then, for a two-level folder,
  // its <video_id> parent when that is empty too.
  void RemoveFolderIfEmpty(std::string_view folder);
  void ClearCorrupt(std::string_view key);
  // Crash recovery at open; see blob_recovery.cc.
  [[nodiscard]] absl::Status Recover();
  [[nodiscard]] absl::Status ReindexPending();
  [[nodiscard]] absl::Status DropEntriesWithoutFiles();
  [[nodiscard]] absl::Status ScanFolders();
  // `path` is the folder of the video folder `folder` ("clip" or "clip/gen").
  [[nodiscard]] absl::Status ScanVideoFolder(const std::filesystem::path& path,
                                             const std::string& folder);
  [[nodiscard]] absl::Status IndexIfUnknown(const std::string& key,
                                            const std::filesystem::path& path);

  const std::filesystem::path dir_;
  const std::filesystem::path blobs_dir_;
  common::UniqueFd lock_fd_;  // holds the flock on DIR/LOCK
  const std::string node_id_;
  std::unique_ptr<BlobIndex> index_;  // thread-safe itself
  // Striped per-key locks: see the class comment.
  std::array<std::mutex, 64> key_locks_;
  mutable std::mutex corrupt_mutex_;
  std::set<std::string, std::less<>> corrupt_;  // GUARDED_BY(corrupt_mutex_)
};

// The index entry for the file at `path` as key `key`, from its bytes.
[[nodiscard]] absl::StatusOr<IndexEntry> IndexEntryForFile(std::string_view key,
                                                           const std::filesystem::path& path);

}  // namespace dvs::storage
