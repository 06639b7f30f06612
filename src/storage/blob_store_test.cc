#include "storage/blob_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "common/sha256.h"
#include "storage/storage_test_support.h"

namespace dvs::storage {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

using testing::RandomBytes;

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("blob_store_test");
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    auto store = BlobStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  absl::StatusOr<PutResult> Put(std::string_view key, std::string_view bytes) {
    return store_->Put(key, bytes, common::Sha256Hex(bytes));
  }
  absl::StatusOr<std::string> ReadAll(std::string_view key, uint64_t offset = 0,
                                      uint64_t length = 0) {
    ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> reader, store_->Read(key, offset, length));
    std::string out;
    while (true) {
      ASSIGN_OR_RETURN(std::string_view piece, reader->Next());
      if (piece.empty()) break;
      EXPECT_LE(piece.size(), kBlockSize);
      out.append(piece);
    }
    EXPECT_EQ(out.size(), reader->size());
    return out;
  }
  std::vector<std::string> Keys(std::string_view video_id = "") {
    auto page = store_->ListPage(video_id, "", 1000);
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> keys;
    for (const BlobInfo& blob : *page) keys.push_back(blob.key);
    return keys;
  }
  std::vector<std::string> FilesIn(const fs::path& folder) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(folder)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

  fs::path dir_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(BlobStoreTest, StoredBlobReadsBackWholeWithItsSizeAndHash) {
  std::string bytes = RandomBytes(2 * kBlockSize + 12345, 1);
  auto put = Put("v1/chunk-1.m4s", bytes);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->outcome, PutOutcome::kCreated);
  EXPECT_EQ(ReadAll("v1/chunk-1.m4s").value(), bytes);
  auto stat = store_->Stat("v1/chunk-1.m4s");
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->size, bytes.size());
  EXPECT_EQ(stat->sha256, common::Sha256Hex(bytes));
  EXPECT_TRUE(fs::is_regular_file(dir_ / "blobs" / "v1" / "chunk-1.m4s"));
}

// Past a few MiB a put is written back and dropped from the page cache
// stretch by stretch while it streams: pieces of odd sizes that straddle the
// stretches must still land whole, each block with its checksum.
TEST_F(BlobStoreTest, LargePutStreamedInOddPiecesReadsBackWhole) {
  std::string bytes = RandomBytes(21 * kBlockSize + 777, 2);
  auto writer = store_->BeginPut("v1/source.mkv", bytes.size(), common::Sha256Hex(bytes));
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (size_t at = 0, step = 300000; at < bytes.size(); at += step) {
    ASSERT_TRUE((*writer)->Append(std::string_view(bytes).substr(at, step)).ok());
  }
  auto put = (*writer)->Commit();
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(ReadAll("v1/source.mkv").value(), bytes);
  EXPECT_EQ(ReadAll("v1/source.mkv", 9 * kBlockSize - 5, kBlockSize + 10).value(),
            bytes.substr(9 * kBlockSize - 5, kBlockSize + 10));
  Reopen();  // the index agrees with the file after a restart too
  EXPECT_EQ(ReadAll("v1/source.mkv").value(), bytes);
}

TEST_F(BlobStoreTest, ADamageMarkIsTakenOnlyForTheBlobStillStored) {
  const std::string bytes = RandomBytes(kBlockSize + 5, 9);
  ASSERT_TRUE(Put("v/f", bytes).ok());
  auto stale = store_->Read("v/f");
  ASSERT_TRUE(stale.ok()) << stale.status();
  // Stored again (a repair) while the first reader was reading: its finding
  // is about bytes that are gone, and must not mark the repaired blob.
  ASSERT_TRUE(Put("v/f", bytes).ok());
  EXPECT_FALSE(store_->MarkCorrupt(**stale));
  EXPECT_EQ(store_->CorruptKeys(10).second, 0u);
  auto current = store_->Read("v/f");
  ASSERT_TRUE(current.ok());
  EXPECT_TRUE(store_->MarkCorrupt(**current));
  EXPECT_EQ(store_->CorruptKeys(10).second, 1u);
  ASSERT_TRUE(store_->Delete("v/f").ok());
  EXPECT_FALSE(store_->MarkCorrupt(**current));
  EXPECT_EQ(store_->CorruptKeys(10).second, 0u);
}

TEST_F(BlobStoreTest, EmptyBlobRoundTrips) {
  ASSERT_TRUE(Put("v1/empty", "").ok());
  EXPECT_EQ(ReadAll("v1/empty").value(), "");
  EXPECT_EQ(store_->Stat("v1/empty")->size, 0u);
}

TEST_F(BlobStoreTest, RangedReadsReturnExactlyTheRange) {
  std::string bytes = RandomBytes(3 * kBlockSize + 7, 2);
  ASSERT_TRUE(Put("v/f", bytes).ok());
  struct Case {
    uint64_t offset, length;
  };
  for (Case c :
       {Case{0, 1}, Case{10, 100}, Case{kBlockSize - 3, 6}, Case{kBlockSize, kBlockSize},
        Case{kBlockSize / 2, 2 * kBlockSize}, Case{bytes.size() - 1, 1}, Case{3 * kBlockSize, 7}}) {
    EXPECT_EQ(ReadAll("v/f", c.offset, c.length).value(), bytes.substr(c.offset, c.length))
        << c.offset << "+" << c.length;
  }
  EXPECT_EQ(ReadAll("v/f", kBlockSize + 5).value(), bytes.substr(kBlockSize + 5));
  EXPECT_EQ(ReadAll("v/f", bytes.size()).value(), "");
}

TEST_F(BlobStoreTest, RangesPastTheEndAreOutOfRange) {
  ASSERT_TRUE(Put("v/f", "0123456789").ok());
  EXPECT_EQ(store_->Read("v/f", 11).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store_->Read("v/f", 5, 6).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store_->Read("v/f", 1, UINT64_MAX).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(BlobStoreTest, MissingKeyIsNotFound) {
  EXPECT_EQ(store_->Read("v/none").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Stat("v/none").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(BlobStoreTest, PuttingIdenticalContentAgainIsUnchanged) {
  std::string bytes = RandomBytes(5000, 3);
  ASSERT_TRUE(Put("v/f", bytes).ok());
  auto again = Put("v/f", bytes);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->outcome, PutOutcome::kUnchanged);
  EXPECT_EQ(ReadAll("v/f").value(), bytes);
  EXPECT_EQ(store_->Info()->blob_count, 1u);
}

TEST_F(BlobStoreTest, DifferentContentReplacesTheOld) {
  ASSERT_TRUE(Put("v/f", RandomBytes(kBlockSize + 1, 4)).ok());
  std::string second = RandomBytes(100, 5);
  auto put = Put("v/f", second);
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->outcome, PutOutcome::kReplaced);
  EXPECT_EQ(ReadAll("v/f").value(), second);
  EXPECT_EQ(store_->Stat("v/f")->sha256, common::Sha256Hex(second));
}

TEST_F(BlobStoreTest, WrongHashIsRejectedAndNothingStored) {
  auto put = store_->Put("v/f", "real bytes", common::Sha256Hex("other bytes"));
  EXPECT_EQ(put.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(put.status().message()), ::testing::HasSubstr("size/checksum"));
  EXPECT_EQ(store_->Stat("v/f").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_ / "blobs" / "v")) << "no empty folder is left behind";
}

TEST_F(BlobStoreTest, WrongSizeIsRejectedAndNothingStored) {
  std::string bytes = "twelve bytes";
  auto short_put = store_->BeginPut("v/f", bytes.size() + 1, common::Sha256Hex(bytes));
  ASSERT_TRUE(short_put.ok());
  ASSERT_TRUE((*short_put)->Append(bytes).ok());
  EXPECT_EQ((*short_put)->Commit().status().code(), absl::StatusCode::kInvalidArgument);
  short_put->reset();
  auto long_put = store_->BeginPut("v/f", bytes.size() - 1, common::Sha256Hex(bytes));
  ASSERT_TRUE(long_put.ok());
  EXPECT_EQ((*long_put)->Append(bytes).code(), absl::StatusCode::kInvalidArgument);
  long_put->reset();
  EXPECT_EQ(store_->Stat("v/f").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_ / "blobs" / "v")) << "no empty folder is left behind";
}

TEST_F(BlobStoreTest, WriterRefusesUseAfterAFailedCommit) {
  auto writer = store_->BeginPut("v/f", 1, common::Sha256Hex("x"));
  ASSERT_TRUE(writer.ok());
  EXPECT_EQ((*writer)->Commit().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*writer)->Append("x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*writer)->Commit().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(BlobStoreTest, AbandonedPutKeepsTheOldContentAndLeavesNoTempFile) {
  ASSERT_TRUE(Put("v/f", "old").ok());
  {
    auto writer = store_->BeginPut("v/f", 3, common::Sha256Hex("new"));
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append("ne").ok());
  }
  EXPECT_EQ(ReadAll("v/f").value(), "old");
  EXPECT_THAT(FilesIn(dir_ / "blobs" / "v"), ElementsAre("f"));
}

TEST_F(BlobStoreTest, KeysThatCouldEscapeTheFolderAreRejected) {
  for (std::string_view key :
       {"../x/y", "a/../../b", "x/.hidden", "x", "x/y/z/w", "", "/etc/passwd", "v/..", "./f", "v/",
        "/f", "v/a b", "v\\..\\f", "v//f", "v/../f", "v/g/", "/v/g/f", "v/.tmp-g/f"}) {
    EXPECT_EQ(Put(key, "x").status().code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store_->Read(key).status().code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store_->Stat(key).status().code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store_->Delete(key).status().code(), absl::StatusCode::kInvalidArgument) << key;
  }
  for (std::string_view folder : {"..", "../x", "v/..", "v/g/h", "v/", "/g", "v//g"}) {
    EXPECT_EQ(store_->DeleteVideo(folder).status().code(), absl::StatusCode::kInvalidArgument)
        << folder;
    EXPECT_EQ(store_->ListPage(folder, "", 10).status().code(), absl::StatusCode::kInvalidArgument)
        << folder;
  }
  EXPECT_THAT(FilesIn(dir_ / "blobs"), ::testing::IsEmpty());
}

TEST_F(BlobStoreTest, BadDigestIsRejected) {
  EXPECT_EQ(store_->Put("v/f", "x", "ABC").status().code(), absl::StatusCode::kInvalidArgument);
  std::string upper = common::Sha256Hex("x");
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_EQ(store_->Put("v/f", "x", upper).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(BlobStoreTest, RestartKeepsBlobsIndexAndNodeId) {
  std::string bytes = RandomBytes(kBlockSize + 10, 6);
  ASSERT_TRUE(Put("v/a", bytes).ok());
  ASSERT_TRUE(Put("w/b", "bee").ok());
  std::string node_id = store_->node_id();
  Reopen();
  EXPECT_EQ(store_->node_id(), node_id);
  EXPECT_THAT(Keys(), ElementsAre("v/a", "w/b"));
  EXPECT_EQ(ReadAll("v/a", 5, kBlockSize).value(), bytes.substr(5, kBlockSize));
}

TEST_F(BlobStoreTest, CorruptByteFailsOnlyReadsCoveringItsBlock) {
  std::string bytes = RandomBytes(3 * kBlockSize, 7);
  ASSERT_TRUE(Put("v/f", bytes).ok());
  {
    std::fstream file(dir_ / "blobs" / "v" / "f", std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(kBlockSize + 100);
    file.put(static_cast<char>(bytes[kBlockSize + 100] ^ 0x01));
  }
  absl::StatusOr<std::string> whole = ReadAll("v/f");
  EXPECT_EQ(whole.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(whole.status().message()),
              ::testing::HasSubstr("stored bytes of v/f fail their checksum"));
  EXPECT_EQ(ReadAll("v/f", kBlockSize + 200, 10).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReadAll("v/f", 0, kBlockSize).value(), bytes.substr(0, kBlockSize));
  EXPECT_EQ(ReadAll("v/f", 2 * kBlockSize).value(), bytes.substr(2 * kBlockSize));
}

TEST_F(BlobStoreTest, LeftoverTempFilesAreRemovedAtOpen) {
  ASSERT_TRUE(Put("v/f", "kept").ok());
  std::ofstream(dir_ / "blobs" / "v" / ".tmp-g-123") << "half a put";
  Reopen();
  EXPECT_THAT(FilesIn(dir_ / "blobs" / "v"), ElementsAre("f"));
  EXPECT_THAT(Keys(), ElementsAre("v/f"));
}

TEST_F(BlobStoreTest, FileWithoutEntryIsIndexedAtOpen) {
  store_.reset();
  fs::create_directories(dir_ / "blobs" / "v");
  std::ofstream(dir_ / "blobs" / "v" / "found") << "found bytes";
  Reopen();
  EXPECT_EQ(store_->Stat("v/found")->sha256, common::Sha256Hex("found bytes"));
  EXPECT_EQ(ReadAll("v/found").value(), "found bytes");
}

TEST_F(BlobStoreTest, EntryWithoutFileIsDroppedAtOpen) {
  ASSERT_TRUE(Put("v/gone", "bytes").ok());
  ASSERT_TRUE(Put("v/kept", "bytes").ok());
  store_.reset();
  fs::remove(dir_ / "blobs" / "v" / "gone");
  Reopen();
  EXPECT_THAT(Keys(), ElementsAre("v/kept"));
}

// A crash between the rename and the index update leaves the key pending
// with the new file on disk: the file wins.
TEST_F(BlobStoreTest, PendingKeyIsReindexedFromTheFileAtOpen) {
  ASSERT_TRUE(Put("v/f", "old content").ok());
  store_.reset();
  {
    auto index = BlobIndex::Open(dir_ / "index.db");
    ASSERT_TRUE(index.ok());
    ASSERT_TRUE((*index)->MarkPending("v/f").ok());
  }
  std::ofstream(dir_ / "blobs" / "v" / "f", std::ios::trunc) << "new content!";
  Reopen();
  EXPECT_EQ(store_->Stat("v/f")->sha256, common::Sha256Hex("new content!"));
  EXPECT_EQ(ReadAll("v/f").value(), "new content!");
}

TEST_F(BlobStoreTest, InfoCountsBlobsAndBytes) {
  ASSERT_TRUE(Put("v/a", std::string(1000, 'a')).ok());
  ASSERT_TRUE(Put("v/b", std::string(234, 'b')).ok());
  ASSERT_TRUE(Put("w/c", std::string(66, 'c')).ok());
  auto info = store_->Info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->blob_count, 3u);
  EXPECT_EQ(info->bytes_used, 1300u);
  EXPECT_GT(info->bytes_free, 0u);
  EXPECT_FALSE(info->node_id.empty());
}

TEST_F(BlobStoreTest, ListFiltersByVideoAndPages) {
  for (std::string_view key : {"v/a", "v/b", "v/c", "vv/a", "w/a"}) ASSERT_TRUE(Put(key, "x").ok());
  EXPECT_THAT(Keys("v"), ElementsAre("v/a", "v/b", "v/c"));
  auto page = store_->ListPage("", "v/b", 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].key, "v/c");
  EXPECT_EQ((*page)[1].key, "vv/a");
}

TEST_F(BlobStoreTest, DeleteRemovesOneKeyOrAWholeVideo) {
  for (std::string_view key : {"v/a", "v/b", "w/a"}) ASSERT_TRUE(Put(key, "x").ok());
  EXPECT_EQ(store_->Delete("w/a").value(), 1u);
  EXPECT_EQ(store_->Delete("w/a").value(), 0u);
  EXPECT_FALSE(fs::exists(dir_ / "blobs" / "w"));
  EXPECT_EQ(store_->DeleteVideo("v").value(), 2u);
  EXPECT_THAT(Keys(), ::testing::IsEmpty());
  EXPECT_THAT(FilesIn(dir_ / "blobs"), ::testing::IsEmpty());
  EXPECT_EQ(store_->Info()->blob_count, 0u);
}

TEST_F(BlobStoreTest, BlobsInAGenerationFolderRoundTripAndListApartFromTheLegacyOnes) {
  std::string bytes = RandomBytes(kBlockSize + 5, 10);
  ASSERT_TRUE(Put("v/0123abcd0123abcd/seg", bytes).ok());
  ASSERT_TRUE(Put("v/0123abcd0123abcd/mpd", "manifest").ok());
  ASSERT_TRUE(Put("v/ffff/seg", "other generation").ok());
  ASSERT_TRUE(Put("v/legacy", "legacy").ok());
  EXPECT_EQ(ReadAll("v/0123abcd0123abcd/seg").value(), bytes);
  EXPECT_EQ(ReadAll("v/0123abcd0123abcd/seg", 3, 4).value(), bytes.substr(3, 4));
  EXPECT_EQ(store_->Stat("v/0123abcd0123abcd/mpd")->sha256, common::Sha256Hex("manifest"));
  EXPECT_TRUE(fs::is_regular_file(dir_ / "blobs" / "v" / "0123abcd0123abcd" / "seg"));
  EXPECT_THAT(Keys("v/0123abcd0123abcd"),
              ElementsAre("v/0123abcd0123abcd/mpd", "v/0123abcd0123abcd/seg"));
  EXPECT_THAT(Keys("v"), ElementsAre("v/legacy"));
  EXPECT_EQ(store_->Info()->blob_count, 4u);
  EXPECT_EQ(store_->Delete("v/ffff/seg").value(), 1u);
  EXPECT_FALSE(fs::exists(dir_ / "blobs" / "v" / "ffff"));
}

TEST_F(BlobStoreTest, DeletingOneGenerationKeepsTheOtherGenerationsAndTheLegacyFiles) {
  for (std::string_view key : {"v/g1/a", "v/g1/b", "v/g2/a", "v/a"}) {
    ASSERT_TRUE(Put(key, key).ok());
  }
  EXPECT_EQ(store_->DeleteVideo("v/g1").value(), 2u);
  EXPECT_FALSE(fs::exists(dir_ / "blobs" / "v" / "g1"));
  EXPECT_THAT(Keys(), ElementsAre("v/a", "v/g2/a"));
  EXPECT_EQ(ReadAll("v/g2/a").value(), "v/g2/a");
  EXPECT_EQ(ReadAll("v/a").value(), "v/a");
  // The legacy folder's delete leaves the generations inside it.
  EXPECT_EQ(store_->DeleteVideo("v").value(), 1u);
  EXPECT_THAT(Keys(), ElementsAre("v/g2/a"));
  EXPECT_THAT(FilesIn(dir_ / "blobs" / "v"), ElementsAre("g2"));
  // The last generation takes the emptied <video_id> folder with it.
  EXPECT_EQ(store_->DeleteVideo("v/g2").value(), 1u);
  EXPECT_THAT(FilesIn(dir_ / "blobs"), ::testing::IsEmpty());
}

TEST_F(BlobStoreTest, AbandonedPutInANewGenerationLeavesNoFolders) {
  {
    auto writer = store_->BeginPut("v/g/f", 3, common::Sha256Hex("new"));
    ASSERT_TRUE(writer.ok()) << writer.status();
    EXPECT_TRUE(fs::is_directory(dir_ / "blobs" / "v" / "g"));
  }
  EXPECT_THAT(FilesIn(dir_ / "blobs"), ::testing::IsEmpty());
}

TEST_F(BlobStoreTest, BlobFoundInAGenerationFolderIsIndexedAtOpenAndTempFilesRemoved) {
  ASSERT_TRUE(Put("v/g/kept", "kept").ok());
  store_.reset();
  fs::create_directories(dir_ / "blobs" / "v" / "h");
  std::ofstream(dir_ / "blobs" / "v" / "h" / "found") << "found bytes";
  std::ofstream(dir_ / "blobs" / "v" / "g" / ".tmp-kept-123") << "half a put";
  Reopen();
  EXPECT_EQ(store_->Stat("v/h/found")->sha256, common::Sha256Hex("found bytes"));
  EXPECT_EQ(ReadAll("v/h/found").value(), "found bytes");
  EXPECT_THAT(Keys("v/h"), ElementsAre("v/h/found"));
  EXPECT_THAT(Keys(), ElementsAre("v/g/kept", "v/h/found"));
  EXPECT_THAT(FilesIn(dir_ / "blobs" / "v" / "g"), ElementsAre("kept"));
}

TEST_F(BlobStoreTest, SecondStoreOnTheSameFolderIsRefused) {
  EXPECT_EQ(BlobStore::Open(dir_).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(BlobStoreTest, ReadersDuringReplacementSeeOneWholeVersion) {
  std::string a = RandomBytes(kBlockSize + 3, 8), b = RandomBytes(kBlockSize + 3, 9);
  ASSERT_TRUE(Put("v/f", a).ok());
  std::atomic<bool> stop = false;
  std::thread writer([&] {
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(Put("v/f", i % 2 ? a : b).ok());
    stop = true;
  });
  int reads = 0;
  while (!stop || reads == 0) {
    absl::StatusOr<std::string> got = ReadAll("v/f");
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(*got == a || *got == b);
    ++reads;
  }
  writer.join();
}

}  // namespace
}  // namespace dvs::storage
