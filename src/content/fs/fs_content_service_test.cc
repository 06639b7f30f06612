#include "content/fs/fs_content_service.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace dvs::content {
namespace {

namespace fs = std::filesystem;

fs::path MakeTempDir(const fs::path& parent) {
  std::string pattern = (parent / "fs_content-XXXXXX").string();
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

std::string PatternBytes(size_t size, int seed = 0) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 7919 + seed) % 251);
  return bytes;
}

void WriteLocalFile(const fs::path& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
}

// Every entry under `dir`, recursively, as paths relative to it.
std::vector<std::string> Tree(const fs::path& dir) {
  std::vector<std::string> paths;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    paths.push_back(fs::relative(entry.path(), dir).string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

// Reads everything a reader yields, in chunks of `chunk` bytes.
absl::StatusOr<std::string> Drain(ContentReader& reader, size_t chunk = 64 * 1024) {
  std::string out;
  std::string buffer(chunk, '\0');
  while (true) {
    absl::StatusOr<size_t> got = reader.Read(buffer.data(), buffer.size());
    if (!got.ok()) return got.status();
    if (*got == 0) return out;
    out.append(buffer.data(), *got);
  }
}

class FsContentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir(fs::temp_directory_path());
    root_ = dir_ / "root";
    absl::StatusOr<std::unique_ptr<FsContentService>> service = FsContentService::Open(root_);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
  }
  void TearDown() override { fs::remove_all(dir_); }

  absl::StatusOr<std::string> ReadAll(std::string_view id, std::string_view name,
                                      std::optional<ByteRange> range = std::nullopt) {
    absl::StatusOr<std::unique_ptr<ContentReader>> reader = service_->Read(id, name, range);
    if (!reader.ok()) return reader.status();
    absl::StatusOr<std::string> bytes = Drain(**reader);
    if (bytes.ok()) {
      EXPECT_EQ(bytes->size(), (*reader)->size());
    }
    return bytes;
  }

  fs::path dir_;
  fs::path root_;
  std::unique_ptr<VideoContentService> service_;
};

TEST_F(FsContentServiceTest, WrittenBytesReadBackWhole) {
  std::string bytes = PatternBytes(3 * 1024 * 1024 + 11);
  ASSERT_TRUE(service_->Write("clip", "seg-1.m4s", bytes).ok());
  absl::StatusOr<std::string> read = ReadAll("clip", "seg-1.m4s");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, bytes);
  EXPECT_TRUE(fs::is_regular_file(root_ / "clip" / "seg-1.m4s"));
}

TEST_F(FsContentServiceTest, EmptyFileIsStoredAndReadsAsNothing) {
  ASSERT_TRUE(service_->Write("clip", "empty", "").ok());
  absl::StatusOr<std::string> read = ReadAll("clip", "empty");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "");
}

TEST_F(FsContentServiceTest, WriteReplacesAnExistingFile) {
  ASSERT_TRUE(service_->Write("clip", "a.mpd", "first version, longer").ok());
  ASSERT_TRUE(service_->Write("clip", "a.mpd", "second").ok());
  EXPECT_EQ(ReadAll("clip", "a.mpd").value_or("?"), "second");
}

TEST_F(FsContentServiceTest, WriteFileCopiesTheSourceAndLeavesIt) {
  fs::path source = dir_ / "upload.bin";
  std::string bytes = PatternBytes(2 * 1024 * 1024 + 3, 5);
  WriteLocalFile(source, bytes);
  ASSERT_TRUE(service_->WriteFile("clip", "original.mp4", source).ok());
  EXPECT_EQ(ReadAll("clip", "original.mp4").value_or("?"), bytes);
  EXPECT_TRUE(fs::exists(source));
}

TEST_F(FsContentServiceTest, WriteFileFromAnotherFilesystemCopiesTheSource) {
  fs::path shm = "/dev/shm";
  struct stat shm_info, root_info;
  if (stat(shm.c_str(), &shm_info) != 0 || stat(root_.c_str(), &root_info) != 0 ||
      shm_info.st_dev == root_info.st_dev) {
    GTEST_SKIP() << "no second filesystem at /dev/shm";
  }
  fs::path other = MakeTempDir(shm);
  std::string bytes = PatternBytes(1024 * 1024 + 77, 9);
  WriteLocalFile(other / "src", bytes);
  absl::Status status = service_->WriteFile("clip", "copied", other / "src");
  fs::remove_all(other);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(ReadAll("clip", "copied").value_or("?"), bytes);
}

TEST_F(FsContentServiceTest, WriteFileFromMissingSourceIsNotFoundAndStoresNothing) {
  absl::Status status = service_->WriteFile("clip", "x.mp4", dir_ / "missing");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_EQ(service_->Stat("clip", "x.mp4").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FsContentServiceTest, RangesReturnExactlyThoseBytes) {
  std::string bytes = PatternBytes(100000);
  ASSERT_TRUE(service_->Write("clip", "seg", bytes).ok());
  EXPECT_EQ(ReadAll("clip", "seg", ByteRange{10, 20}).value_or("?"), bytes.substr(10, 20));
  EXPECT_EQ(ReadAll("clip", "seg", ByteRange{0, 100000}).value_or("?"), bytes);
  EXPECT_EQ(ReadAll("clip", "seg", ByteRange{99999, 1}).value_or("?"), bytes.substr(99999));
  EXPECT_EQ(ReadAll("clip", "seg", ByteRange{100000, 0}).value_or("?"), "");
}

TEST_F(FsContentServiceTest, SmallReadsYieldTheRangeInOrder) {
  std::string bytes = PatternBytes(5000);
  ASSERT_TRUE(service_->Write("clip", "seg", bytes).ok());
  absl::StatusOr<std::unique_ptr<ContentReader>> reader =
      service_->Read("clip", "seg", ByteRange{123, 4000});
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->size(), 4000u);
  EXPECT_EQ(Drain(**reader, 7).value_or("?"), bytes.substr(123, 4000));
}

TEST_F(FsContentServiceTest, RangePastTheEndIsOutOfRange) {
  ASSERT_TRUE(service_->Write("clip", "seg", PatternBytes(100)).ok());
  for (ByteRange range : {ByteRange{101, 0}, ByteRange{100, 1}, ByteRange{50, 51},
                          ByteRange{1, UINT64_MAX}, ByteRange{UINT64_MAX, 2}}) {
    EXPECT_EQ(service_->Read("clip", "seg", range).status().code(), absl::StatusCode::kOutOfRange)
        << range.offset << "+" << range.length;
  }
}

TEST_F(FsContentServiceTest, MissingFilesAreNotFound) {
  ASSERT_TRUE(service_->Write("clip", "a", "x").ok());
  EXPECT_EQ(service_->Read("clip", "b", std::nullopt).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service_->Read("other", "a", std::nullopt).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(service_->Stat("clip", "b").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FsContentServiceTest, StatGivesTheSizeWithoutAChecksum) {
  ASSERT_TRUE(service_->Write("clip", "a", PatternBytes(1234)).ok());
  absl::StatusOr<ContentInfo> info = service_->Stat("clip", "a");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->size, 1234u);
  EXPECT_EQ(info->sha256, "");
}

TEST_F(FsContentServiceTest, NamesThatCouldEscapeTheRootAreRefusedAndCreateNothing) {
  fs::create_directories(root_ / "clip");
  std::vector<std::string> before = Tree(dir_);
  // Kept alive for the whole loop: the views below point into it.
  static const std::string kTooLong(129, 'a');
  const std::string_view kBad[] = {"",
                                   ".",
                                   "..",
                                   "../x",
                                   "../../etc",
                                   "a/b/c",
                                   "a/",
                                   "/b",
                                   "a//b",
                                   "clip/..",
                                   "clip/.tmp-x",
                                   "../clip/g",
                                   "/etc",
                                   ".hidden",
                                   ".tmp-seg",
                                   "a\\b",
                                   "a..b",
                                   std::string_view("a\0b", 3),
                                   kTooLong};
  for (std::string_view bad : kBad) {
    auto expect_invalid = [&](absl::Status status) {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << "name: " << bad;
    };
    expect_invalid(service_->Write(bad, "ok", "bytes"));
    expect_invalid(service_->Write("clip", bad, "bytes"));
    expect_invalid(service_->WriteFile("clip", bad, "/etc/hostname"));
    expect_invalid(service_->Read(bad, "ok", std::nullopt).status());
    expect_invalid(service_->Read("clip", bad, std::nullopt).status());
    expect_invalid(service_->Stat("clip", bad).status());
    expect_invalid(service_->List(bad).status());
    expect_invalid(service_->Delete(bad));
  }
  EXPECT_EQ(Tree(dir_), before);
}

TEST_F(FsContentServiceTest, ListIsSortedAndSkipsTempFiles) {
  ASSERT_TRUE(service_->Write("clip", "seg-2.m4s", "2").ok());
  ASSERT_TRUE(service_->Write("clip", "manifest.mpd", "m").ok());
  ASSERT_TRUE(service_->Write("clip", "seg-1.m4s", "1").ok());
  WriteLocalFile(root_ / "clip" / ".tmp-seg-3.m4s-abcdef", "in flight");
  absl::StatusOr<std::vector<std::string>> names = service_->List("clip");
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(*names, (std::vector<std::string>{"manifest.mpd", "seg-1.m4s", "seg-2.m4s"}));
}

TEST_F(FsContentServiceTest, ListOfUnknownVideoIsEmpty) {
  absl::StatusOr<std::vector<std::string>> names = service_->List("nothing-here");
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_TRUE(names->empty());
}

TEST_F(FsContentServiceTest, DeleteRemovesEveryFileOfOnlyThatVideo) {
  ASSERT_TRUE(service_->Write("clip", "a", "1").ok());
  ASSERT_TRUE(service_->Write("clip", "b", "2").ok());
  ASSERT_TRUE(service_->Write("clip-2", "a", "3").ok());
  ASSERT_TRUE(service_->Delete("clip").ok());
  EXPECT_FALSE(fs::exists(root_ / "clip"));
  EXPECT_TRUE(service_->List("clip").value_or(std::vector<std::string>{"?"}).empty());
  EXPECT_EQ(ReadAll("clip-2", "a").value_or("?"), "3");
}

TEST_F(FsContentServiceTest, DeleteOfAbsentVideoIsOk) {
  EXPECT_TRUE(service_->Delete("never-written").ok());
}

TEST_F(FsContentServiceTest, OpenRemovesLeftoverTempFilesAndKeepsStoredOnes) {
  ASSERT_TRUE(service_->Write("clip", "kept", "data").ok());
  WriteLocalFile(root_ / "clip" / ".tmp-kept-XYZ123", "half written");
  WriteLocalFile(root_ / ".tmp-stray", "stray");
  absl::StatusOr<std::unique_ptr<FsContentService>> reopened = FsContentService::Open(root_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(Tree(root_), (std::vector<std::string>{"clip", "clip/kept"}));
}

TEST_F(FsContentServiceTest, WritesLeaveNoTempFilesBehind) {
  ASSERT_TRUE(service_->Write("clip", "a", PatternBytes(10)).ok());
  ASSERT_FALSE(service_->WriteFile("clip", "b", dir_ / "missing").ok());
  EXPECT_EQ(Tree(root_), (std::vector<std::string>{"clip", "clip/a"}));
}

TEST_F(FsContentServiceTest, ReaderKeepsTheVersionItOpenedWhenTheFileIsReplaced) {
  std::string old_bytes = PatternBytes(200000, 1);
  ASSERT_TRUE(service_->Write("clip", "seg", old_bytes).ok());
  absl::StatusOr<std::unique_ptr<ContentReader>> reader =
      service_->Read("clip", "seg", std::nullopt);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE(service_->Write("clip", "seg", "new").ok());
  EXPECT_EQ(Drain(**reader).value_or("?"), old_bytes);
}

// Writers alternate two versions of different sizes while readers check that
// every read is exactly one whole version.
TEST_F(FsContentServiceTest, ConcurrentWritersNeverLeaveATornFile) {
  const std::string versions[] = {std::string(700 * 1024, 'a'), std::string(300 * 1024, 'b')};
  ASSERT_TRUE(service_->Write("clip", "seg", versions[0]).ok());
  std::atomic<bool> stop = false;
  std::atomic<int> write_errors = 0, torn_reads = 0, reads = 0;
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 25; ++i) {
        if (!service_->Write("clip", "seg", versions[(w + i) % 2]).ok()) ++write_errors;
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      while (!stop) {
        absl::StatusOr<std::string> bytes = ReadAll("clip", "seg");
        ++reads;
        if (!bytes.ok() || (*bytes != versions[0] && *bytes != versions[1])) ++torn_reads;
      }
    });
  }
  for (int w = 0; w < 4; ++w) threads[w].join();
  stop = true;
  for (size_t t = 4; t < threads.size(); ++t) threads[t].join();
  EXPECT_EQ(write_errors, 0);
  EXPECT_EQ(torn_reads, 0) << "of " << reads << " reads";
  EXPECT_GT(reads, 0);
  EXPECT_EQ(Tree(root_), (std::vector<std::string>{"clip", "clip/seg"}));
}

TEST_F(FsContentServiceTest, FilesInAGenerationFolderRoundTrip) {
  std::string bytes = PatternBytes(100000, 3);
  ASSERT_TRUE(service_->Write("clip/0123abcd0123abcd", "seg", bytes).ok());
  fs::path source = dir_ / "upload.bin";
  WriteLocalFile(source, "original");
  ASSERT_TRUE(service_->WriteFile("clip/0123abcd0123abcd", "original.mp4", source).ok());
  EXPECT_EQ(ReadAll("clip/0123abcd0123abcd", "seg").value_or("?"), bytes);
  EXPECT_EQ(ReadAll("clip/0123abcd0123abcd", "seg", ByteRange{5, 10}).value_or("?"),
            bytes.substr(5, 10));
  EXPECT_EQ(service_->Stat("clip/0123abcd0123abcd", "original.mp4").value().size, 8u);
  EXPECT_EQ(service_->List("clip/0123abcd0123abcd").value_or(std::vector<std::string>{}),
            (std::vector<std::string>{"original.mp4", "seg"}));
  EXPECT_EQ(Tree(root_), (std::vector<std::string>{"clip", "clip/0123abcd0123abcd",
                                                   "clip/0123abcd0123abcd/original.mp4",
                                                   "clip/0123abcd0123abcd/seg"}));
  EXPECT_EQ(service_->Read("clip", "seg", std::nullopt).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(FsContentServiceTest, ListOfALegacyFolderHasNoGenerationFoldersInIt) {
  ASSERT_TRUE(service_->Write("clip", "legacy.mpd", "1").ok());
  ASSERT_TRUE(service_->Write("clip/g1", "seg", "2").ok());
  EXPECT_EQ(service_->List("clip").value_or(std::vector<std::string>{"?"}),
            (std::vector<std::string>{"legacy.mpd"}));
  EXPECT_EQ(service_->List("clip/g1").value_or(std::vector<std::string>{"?"}),
            (std::vector<std::string>{"seg"}));
  EXPECT_TRUE(service_->List("clip/g2").value_or(std::vector<std::string>{"?"}).empty());
}

TEST_F(FsContentServiceTest, DeletingOneGenerationKeepsTheOtherGenerationsAndTheLegacyFiles) {
  ASSERT_TRUE(service_->Write("clip/g1", "a", "1").ok());
  ASSERT_TRUE(service_->Write("clip/g1", "b", "2").ok());
  ASSERT_TRUE(service_->Write("clip/g2", "a", "3").ok());
  ASSERT_TRUE(service_->Write("clip", "a", "4").ok());
  ASSERT_TRUE(service_->Delete("clip/g1").ok());
  EXPECT_EQ(Tree(root_), (std::vector<std::string>{"clip", "clip/a", "clip/g2", "clip/g2/a"}));
  EXPECT_EQ(ReadAll("clip/g2", "a").value_or("?"), "3");
  EXPECT_EQ(ReadAll("clip", "a").value_or("?"), "4");
  // The legacy folder's delete leaves the generations inside it.
  ASSERT_TRUE(service_->Delete("clip").ok());
  EXPECT_EQ(Tree(root_), (std::vector<std::string>{"clip", "clip/g2", "clip/g2/a"}));
  // The last generation takes the emptied <video_id> folder with it.
  ASSERT_TRUE(service_->Delete("clip/g2").ok());
  EXPECT_TRUE(Tree(root_).empty());
  EXPECT_TRUE(service_->Delete("clip/never-written").ok());
  EXPECT_TRUE(Tree(root_).empty());
}

TEST_F(FsContentServiceTest, OpenRemovesLeftoverTempFilesInGenerationFolders) {
  ASSERT_TRUE(service_->Write("clip/g1", "kept", "data").ok());
  WriteLocalFile(root_ / "clip" / "g1" / ".tmp-kept-XYZ123", "half written");
  absl::StatusOr<std::unique_ptr<FsContentService>> reopened = FsContentService::Open(root_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(Tree(root_), (std::vector<std::string>{"clip", "clip/g1", "clip/g1/kept"}));
}

TEST_F(FsContentServiceTest, HealthyRootIsOkAndMissingRootIsNot) {
  EXPECT_TRUE(service_->CheckHealth().ok());
  fs::remove_all(root_);
  EXPECT_FALSE(service_->CheckHealth().ok());
}

TEST(FsContentServiceOpenTest, RootThatIsAFileIsAnError) {
  fs::path dir = MakeTempDir(fs::temp_directory_path());
  WriteLocalFile(dir / "file", "x");
  EXPECT_FALSE(FsContentService::Open(dir / "file").ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dvs::content
