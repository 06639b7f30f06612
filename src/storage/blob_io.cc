// BlobWriter and BlobReader: the streaming halves of BlobStore's puts and
// reads, and the hashing they share with recovery.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
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

namespace {

// O_DIRECT needs buffers, offsets and lengths aligned to the device's
// logical block; 4096 covers every common device.
constexpr size_t kDirectAlignment = 4096;
// Puts from this size on bypass the page cache (copies always do).
constexpr uint64_t kDirectMinSize = 8 << 20;

}  // namespace

void BlobWriter::FreeDeleter::operator()(char* buffer) const { std::free(buffer); }

BlobWriter::BlobWriter(BlobStore* store, BlobInfo expected, std::string block_sha256,
                       fs::path temp_path, UniqueFd fd)
    : store_(store),
      expected_(std::move(expected)),
      temp_path_(std::move(temp_path)),
      fd_(std::move(fd)),
      block_sha256_(std::move(block_sha256)) {
  const bool copy = !block_sha256_.empty();
  if (!copy) block_.emplace();
  if (copy || expected_.size >= kDirectMinSize) UseDirectWrites();
}

void BlobWriter::UseDirectWrites() {
  buffer_.reset(static_cast<char*>(std::aligned_alloc(kDirectAlignment, kBlockSize)));
  if (!buffer_) return;  // no memory for it: the page cache path still works
  int flags = ::fcntl(fd_.get(), F_GETFL);
  // A file system without O_DIRECT (tmpfs) refuses the flag: the buffer is
  // then written through the page cache, which is still correct.
  if (flags >= 0) (void)::fcntl(fd_.get(), F_SETFL, flags | O_DIRECT);
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

void BlobWriter::FinishBlock() {
  block_sha256_ += block_->FinalHex();
  block_.emplace();
}

void BlobWriter::Hash(std::string_view bytes) {
  whole_.Update(bytes);
  if (!block_.has_value()) {
    written_ += bytes.size();
    return;
  }
  while (!bytes.empty()) {
    size_t room = kBlockSize - written_ % kBlockSize;
    size_t take = std::min(room, bytes.size());
    block_->Update(bytes.substr(0, take));
    written_ += take;
    bytes.remove_prefix(take);
    if (take == room) FinishBlock();
  }
}

absl::Status BlobWriter::WriteBuffer() {
  size_t length = (buffered_ + kDirectAlignment - 1) / kDirectAlignment * kDirectAlignment;
  std::memset(buffer_.get() + buffered_, 0, length - buffered_);
  size_t done = 0;
  while (done < length) {
    ssize_t wrote = ::pwrite(fd_.get(), buffer_.get() + done, length - done,
                             static_cast<off_t>(buffer_offset_ + done));
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0 && errno == EINVAL && (::fcntl(fd_.get(), F_GETFL) & O_DIRECT) != 0) {
      // The device wants a coarser alignment: on through the page cache.
      (void)::fcntl(fd_.get(), F_SETFL, ::fcntl(fd_.get(), F_GETFL) & ~O_DIRECT);
      continue;
    }
    if (wrote < 0) return ErrnoError(errno, "cannot write", temp_path_);
    done += static_cast<size_t>(wrote);
  }
  buffer_offset_ += buffered_;
  buffered_ = 0;
  return absl::OkStatus();
}

absl::Status BlobWriter::Append(std::string_view bytes) {
  if (closed_) return absl::FailedPreconditionError("the put is already finished");
  if (bytes.size() > expected_.size - written_) {
    return absl::InvalidArgumentError(absl::StrCat("more bytes than the declared size (",
                                                   expected_.size, ") for ", expected_.key));
  }
  if (!buffer_) {
    RETURN_IF_ERROR(common::WriteAll(fd_.get(), bytes, temp_path_));
    Hash(bytes);
    return absl::OkStatus();
  }
  while (!bytes.empty()) {
    size_t take = std::min(kBlockSize - buffered_, bytes.size());
    char* at = buffer_.get() + buffered_;
    std::memcpy(at, bytes.data(), take);
    Hash({at, take});  // from the buffer, while it is in the CPU's cache
    buffered_ += take;
    bytes.remove_prefix(take);
    if (buffered_ == kBlockSize) RETURN_IF_ERROR(WriteBuffer());
  }
  return absl::OkStatus();
}

absl::StatusOr<PutResult> BlobWriter::Commit() {
  if (closed_) return absl::FailedPreconditionError("the put is already finished");
  closed_ = true;
  if (block_.has_value() && written_ % kBlockSize != 0) FinishBlock();
  std::string sha256 = whole_.FinalHex();
  if (written_ != expected_.size || sha256 != expected_.sha256) {
    std::string why = absl::StrCat("size/checksum does not match for ", expected_.key, ": got ",
                                   written_, " bytes with sha256 ", sha256, ", declared ",
                                   expected_.size, " bytes with sha256 ", expected_.sha256);
    // A copy whose bytes are all there but hash wrong came from a damaged
    // source; one that stopped short is a broken stream.
    if (!block_.has_value() && written_ == expected_.size) {
      return absl::DataLossError(absl::StrCat(why, " (the source's copy is damaged)"));
    }
    return absl::InvalidArgumentError(why);
  }
  if (buffer_ && buffered_ > 0) {
    RETURN_IF_ERROR(WriteBuffer());
    if (::ftruncate(fd_.get(), static_cast<off_t>(written_)) != 0) {
      return ErrnoError(errno, "cannot truncate", temp_path_);
    }
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

absl::StatusOr<std::pair<size_t, size_t>> BlobReader::ReadBlock(char* buffer) {
  uint64_t block = position_ / kBlockSize;
  uint64_t block_start = block * kBlockSize;
  size_t block_size =
      static_cast<size_t>(std::min<uint64_t>(kBlockSize, blob().size - block_start));
  absl::Status read = common::PreadExactly(fd_.get(), buffer, block_size, block_start, path_);
  std::string_view expected = std::string_view(entry_.block_sha256).substr(block * 64, 64);
  if (read.code() == absl::StatusCode::kDataLoss ||
      (read.ok() && verify_ && common::Sha256Hex({buffer, block_size}) != expected)) {
    spdlog::error("stored bytes of {} fail their checksum (block {} of {})", blob().key, block,
                  path_.string());
    return absl::DataLossError(
        absl::StrCat("stored bytes of ", blob().key, " fail their checksum"));
  }
  RETURN_IF_ERROR(read);
  uint64_t skip = position_ - block_start;
  uint64_t take = std::min<uint64_t>(block_size - skip, end_ - position_);
  position_ += take;
  return std::pair{static_cast<size_t>(skip), static_cast<size_t>(take)};
}

absl::StatusOr<std::string_view> BlobReader::Next() {
  if (position_ >= end_) return std::string_view();
  block_.resize(kBlockSize);
  ASSIGN_OR_RETURN(auto piece, ReadBlock(block_.data()));
  return std::string_view(block_.data() + piece.first, piece.second);
}

absl::Status BlobReader::NextInto(std::string& out) {
  if (position_ >= end_) {
    out.clear();
    return absl::OkStatus();
  }
  // Grown once: a string kept between calls is not zero-filled again.
  if (out.size() < kBlockSize) out.resize(kBlockSize);
  ASSIGN_OR_RETURN(auto piece, ReadBlock(out.data()));
  if (piece.first > 0) out.erase(0, piece.first);
  out.resize(piece.second);
  return absl::OkStatus();
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
