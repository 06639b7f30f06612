// Copies between two blob stores as storage servers make them: the source's
// ReadForCopy hands over bytes unchecked with its block checksums, and the
// destination's put checks the whole SHA-256 only and keeps those checksums.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/sha256.h"
#include "storage/blob_store.h"
#include "storage/storage_test_support.h"

namespace dvs::storage {
namespace {

namespace fs = std::filesystem;

using testing::RandomBytes;

// Drains a reader; the error it stops at, if any.
absl::StatusOr<std::string> Drain(BlobReader& reader) {
  std::string out;
  std::string piece;
  while (true) {
    RETURN_IF_ERROR(reader.NextInto(piece));
    if (piece.empty()) return out;
    out.append(piece);
  }
}

class BlobCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("blob_copy_test");
    source_ = BlobStore::Open(dir_ / "source").value();
    destination_ = BlobStore::Open(dir_ / "destination").value();
  }
  void TearDown() override {
    source_.reset();
    destination_.reset();
    fs::remove_all(dir_);
  }
  // Copies `key` from source_ to destination_ the way a storage server's
  // Get(for_copy) and Put(block_sha256) do, in pieces of `piece` bytes.
  absl::StatusOr<PutResult> Copy(std::string_view key, size_t piece = 300000) {
    ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> reader, source_->ReadForCopy(key));
    EXPECT_FALSE(reader->checked());
    ASSIGN_OR_RETURN(std::string bytes, Drain(*reader));
    ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer,
                     destination_->BeginPut(key, reader->blob().size, reader->blob().sha256,
                                            reader->block_sha256()));
    for (size_t at = 0; at < bytes.size(); at += piece) {
      RETURN_IF_ERROR(writer->Append(std::string_view(bytes).substr(at, piece)));
    }
    return writer->Commit();
  }
  void Rot(const fs::path& file, uint64_t at) {
    std::fstream stream(file, std::ios::in | std::ios::out | std::ios::binary);
    stream.seekg(static_cast<std::streamoff>(at));
    char byte = 0;
    stream.get(byte);
    stream.seekp(static_cast<std::streamoff>(at));
    stream.put(static_cast<char>(byte ^ 0x01));
  }

  fs::path dir_;
  std::unique_ptr<BlobStore> source_;
  std::unique_ptr<BlobStore> destination_;
};

TEST_F(BlobCopyTest, ACopyKeepsTheSourcesBlockChecksumsAndReadsBackChecked) {
  // Sizes around the block and the 4 KiB alignment of direct writes.
  for (size_t size : {size_t{1}, size_t{4096}, kBlockSize - 1, kBlockSize, 2 * kBlockSize + 4097,
                      9 * kBlockSize + 123}) {
    std::string key = "v/f" + std::to_string(size);
    std::string bytes = RandomBytes(size, static_cast<uint32_t>(size));
    ASSERT_TRUE(source_->Put(key, bytes, common::Sha256Hex(bytes)).ok());
    absl::StatusOr<PutResult> copied = Copy(key);
    ASSERT_TRUE(copied.ok()) << size << ": " << copied.status();
    EXPECT_EQ(copied->blob, source_->Stat(key).value());
    // Read back checked: the kept checksums are the bytes' own.
    auto reader = destination_->Read(key);
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ(Drain(**reader).value(), bytes) << size;
    EXPECT_EQ((*reader)->block_sha256(), (*source_->ReadForCopy(key))->block_sha256());
    EXPECT_EQ(fs::file_size(dir_ / "destination" / "blobs" / "v" / key.substr(2)), size);
  }
}

TEST_F(BlobCopyTest, ADamagedSourceIsSentUncheckedAndItsCopyRefusedWithDataLoss) {
  std::string bytes = RandomBytes(3 * kBlockSize + 10, 3);
  ASSERT_TRUE(source_->Put("v/f", bytes, common::Sha256Hex(bytes)).ok());
  Rot(dir_ / "source" / "blobs" / "v" / "f", kBlockSize + 5);
  // A checked read stops at the damage; a read for a copy does not.
  EXPECT_EQ(Drain(*source_->Read("v/f").value()).status().code(), absl::StatusCode::kDataLoss);
  absl::StatusOr<PutResult> copied = Copy("v/f");
  EXPECT_EQ(copied.status().code(), absl::StatusCode::kDataLoss) << copied.status();
  EXPECT_THAT(std::string(copied.status().message()), ::testing::HasSubstr("damaged"));
  EXPECT_TRUE(absl::IsNotFound(destination_->Stat("v/f").status()));
  EXPECT_FALSE(fs::exists(dir_ / "destination" / "blobs" / "v"));
}

TEST_F(BlobCopyTest, ACopyShortOfItsSizeIsRefusedAsBadInput) {
  std::string bytes = RandomBytes(kBlockSize + 10, 4);
  auto writer = destination_->BeginPut(
      "v/f", bytes.size(), common::Sha256Hex(bytes),
      common::Sha256Hex(bytes.substr(0, kBlockSize)) + common::Sha256Hex(bytes.substr(kBlockSize)));
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE((*writer)->Append(std::string_view(bytes).substr(0, 100)).ok());
  EXPECT_EQ((*writer)->Commit().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::IsNotFound(destination_->Stat("v/f").status()));
}

TEST_F(BlobCopyTest, MalformedBlockChecksumsAreRefusedBeforeAnyByte) {
  std::string bytes = RandomBytes(kBlockSize + 1, 5);
  std::string sha = common::Sha256Hex(bytes);
  std::string one_block = common::Sha256Hex(bytes.substr(0, kBlockSize));
  std::string upper = one_block;
  upper[0] = 'A';
  for (const std::string& blocks : {one_block,                           // one block short
                                    one_block + one_block + one_block,   // one too many
                                    one_block + upper,                   // not lowercase hex
                                    one_block + one_block.substr(1)}) {  // a digit short
    auto writer = destination_->BeginPut("v/f", bytes.size(), sha, blocks);
    EXPECT_EQ(writer.status().code(), absl::StatusCode::kInvalidArgument) << blocks.size();
  }
  EXPECT_FALSE(fs::exists(dir_ / "destination" / "blobs" / "v"));
}

TEST_F(BlobCopyTest, NextIntoReadsRangesLikeNext) {
  std::string bytes = RandomBytes(3 * kBlockSize + 99, 6);
  ASSERT_TRUE(source_->Put("v/f", bytes, common::Sha256Hex(bytes)).ok());
  for (auto [offset, length] : {std::pair<uint64_t, uint64_t>{0, 0},
                                {kBlockSize - 3, 10},
                                {5, 2 * kBlockSize},
                                {3 * kBlockSize, 99}}) {
    auto reader = source_->Read("v/f", offset, length);
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ(Drain(**reader).value(),
              bytes.substr(offset, length == 0 ? std::string::npos : length))
        << offset << "+" << length;
  }
}

}  // namespace
}  // namespace dvs::storage
