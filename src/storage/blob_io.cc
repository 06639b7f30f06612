// BlobWriter and BlobReader: the streaming halves of BlobStore's puts and
// reads, and the hashing they share with recovery.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "spdlog/spdlog.h"
#include "storage/blob_store.h"

namespace dvs::storage {

namespace fs = std::filesystem;
using common::ErrnoError;
using common::UniqueFd;

BlobWriter::BlobWriter(BlobStore* store, BlobInfo expected, fs::path temp_path, UniqueFd fd)
    : store_(store),
      expected_(std::move(expected)),
      temp_path_(std::move(temp_path)),
      fd_(std::move(fd)) {
  block_.emplace();
}

// A failed put leaves no empty video folder either: otherwise bad puts could
// fill the disk with folders.
BlobWriter::~BlobWriter() {
  if (stored_) return;
  fd_ = UniqueFd();
  if (::unlink(temp_path_.c_str()) != 0 && errno != ENOENT) {
    spdlog::warn("cannot remove abandoned temp file {}: {}", temp_path_.string(),
                 std::strerror(errno));
  }
  store_->RemoveFolderIfEmpty(std::string_view(expected_.key).substr(0, expected_.key.rfind('/')));
}

// Large puts write to disk as they stream, a stretch at a time: each
// stretch's writeback is started as soon as it is complete, and once the one
// before it is on disk its pages leave the page cache. So Commit's fsync has
// little left to wait for, and many copies streaming at once reuse the same
// few warm pages instead of filling memory with dirty ones. Advisory: an
// error here shows again at the fsync, which is what decides.
void BlobWriter::StartWriteback(uint64_t end) {
  constexpr uint64_t kStretch = 8 << 20;
  if (end - flushed_ < kStretch) return;
  if (flushed_ > dropped_) {
    (void)::sync_file_range(
        fd_.get(), static_cast<off_t>(dropped_), static_cast<off_t>(flushed_ - dropped_),
        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    (void)::posix_fadvise(fd_.get(), static_cast<off_t>(dropped_),
                          static_cast<off_t>(flushed_ - dropped_), POSIX_FADV_DONTNEED);
    dropped_ = flushed_;
  }
  (void)::sync_file_range(fd_.get(), static_cast<off_t>(flushed_),
                          static_cast<off_t>(end - flushed_), SYNC_FILE_RANGE_WRITE);
  flushed_ = end;
}

void BlobWriter::FinishBlock() {
  block_sha256_ += block_->FinalHex();
  block_.emplace();
}

absl::Status BlobWriter::Append(std::string_view bytes) {
  if (closed_) return absl::FailedPreconditionError("the put is already finished");
  if (bytes.size() > expected_.size - written_) {
    return absl::InvalidArgumentError(absl::StrCat("more bytes than the declared size (",
                                                   expected_.size, ") for ", expected_.key));
  }
  RETURN_IF_ERROR(common::WriteAll(fd_.get(), bytes, temp_path_));
  StartWriteback(written_ + bytes.size());
  whole_.Update(bytes);
  while (!bytes.empty()) {
    size_t room = kBlockSize - written_ % kBlockSize;
    size_t take = std::min(room, bytes.size());
    block_->Update(bytes.substr(0, take));
    written_ += take;
    bytes.remove_prefix(take);
    if (take == room) FinishBlock();
  }
  return absl::OkStatus();
}

absl::StatusOr<PutResult> BlobWriter::Commit() {
  if (closed_) return absl::FailedPreconditionError("the put is already finished");
  closed_ = true;
  if (written_ % kBlockSize != 0) FinishBlock();
  std::string sha256 = whole_.FinalHex();
  if (written_ != expected_.size || sha256 != expected_.sha256) {
    return absl::InvalidArgumentError(
        absl::StrCat("size/checksum does not match for ", expected_.key, ": got ", written_,
                     " bytes with sha256 ", sha256, ", declared ", expected_.size,
                     " bytes with sha256 ", expected_.sha256));
  }
  RETURN_IF_ERROR(fd_.SyncAndClose(temp_path_));
  IndexEntry entry{expected_, std::move(block_sha256_)};
  ASSIGN_OR_RETURN(PutResult result, store_->CommitPut(entry, temp_path_));
  stored_ = true;  // the temp file is now the blob
  return result;
}

BlobReader::BlobReader(UniqueFd fd, fs::path path, IndexEntry entry, uint64_t begin, uint64_t end)
    : fd_(std::move(fd)),
      path_(std::move(path)),
      entry_(std::move(entry)),
      begin_(begin),
      end_(end),
      position_(begin) {}

absl::StatusOr<std::string_view> BlobReader::Next() {
  if (position_ >= end_) return std::string_view();
  uint64_t block = position_ / kBlockSize;
  uint64_t block_start = block * kBlockSize;
  size_t block_size =
      static_cast<size_t>(std::min<uint64_t>(kBlockSize, blob().size - block_start));
  block_.resize(kBlockSize);
  absl::Status read =
      common::PreadExactly(fd_.get(), block_.data(), block_size, block_start, path_);
  std::string_view bytes(block_.data(), block_size);
  std::string_view expected = std::string_view(entry_.block_sha256).substr(block * 64, 64);
  if (read.code() == absl::StatusCode::kDataLoss ||
      (read.ok() && common::Sha256Hex(bytes) != expected)) {
    spdlog::error("stored bytes of {} fail their checksum (block {} of {})", blob().key, block,
                  path_.string());
    return absl::DataLossError(
        absl::StrCat("stored bytes of ", blob().key, " fail their checksum"));
  }
  RETURN_IF_ERROR(read);
  uint64_t skip = position_ - block_start;
  uint64_t take = std::min<uint64_t>(block_size - skip, end_ - position_);
  position_ += take;
  return bytes.substr(static_cast<size_t>(skip), static_cast<size_t>(take));
}

namespace {

// Reads until `buffer` is full or the file ends; the count read.
absl::StatusOr<size_t> ReadUpTo(int fd, char* buffer, size_t size, const fs::path& path) {
  size_t filled = 0;
  while (filled < size) {
    ssize_t got = ::read(fd, buffer + filled, size - filled);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoError(errno, "cannot read", path);
    if (got == 0) break;
    filled += static_cast<size_t>(got);
  }
  return filled;
}

}  // namespace

absl::StatusOr<IndexEntry> IndexEntryForFile(std::string_view key, const fs::path& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, common::OpenFd(path, O_RDONLY));
  IndexEntry entry{BlobInfo{std::string(key), 0, ""}, ""};
  common::Sha256 whole;
  std::vector<char> block(kBlockSize);
  while (true) {
    ASSIGN_OR_RETURN(size_t filled, ReadUpTo(fd.get(), block.data(), block.size(), path));
    if (filled == 0) break;
    std::string_view bytes(block.data(), filled);
    whole.Update(bytes);
    entry.block_sha256 += common::Sha256Hex(bytes);
    entry.blob.size += filled;
    if (filled < block.size()) break;
  }
  entry.blob.sha256 = whole.FinalHex();
  return entry;
}

}  // namespace dvs::storage
