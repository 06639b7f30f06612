#include "common/posix_file.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace dvs::common {
namespace {

namespace fs = std::filesystem;

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class PosixFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "posix_file_test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

  static std::string Contents(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  fs::path dir_;
};

TEST(ErrnoErrorTest, MapsErrnoToTheMostSpecificCode) {
  EXPECT_TRUE(absl::IsNotFound(ErrnoError(ENOENT, "cannot open", "/x")));
  EXPECT_TRUE(absl::IsNotFound(ErrnoError(ENOTDIR, "cannot open", "/x")));
  EXPECT_TRUE(absl::IsPermissionDenied(ErrnoError(EACCES, "cannot open", "/x")));
  EXPECT_TRUE(absl::IsPermissionDenied(ErrnoError(EROFS, "cannot open", "/x")));
  EXPECT_TRUE(absl::IsResourceExhausted(ErrnoError(ENOSPC, "cannot write", "/x")));
  EXPECT_TRUE(absl::IsInternal(ErrnoError(EIO, "cannot write", "/x")));
}

TEST(ErrnoErrorTest, MessageNamesTheActionAndPath) {
  absl::Status status = ErrnoError(ENOENT, "cannot open", "/some/file");
  EXPECT_THAT(std::string(status.message()), HasSubstr("cannot open /some/file: "));
}

TEST(FsErrorTest, MapsOsErrorCodesLikeErrno) {
  EXPECT_TRUE(absl::IsNotFound(
      FsError(std::make_error_code(std::errc::no_such_file_or_directory), "cannot list", "/x")));
  EXPECT_TRUE(absl::IsResourceExhausted(
      FsError(std::error_code(ENOSPC, std::system_category()), "cannot copy", "/x")));
}

TEST(IsTempFileNameTest, RecognizesThePrefix) {
  EXPECT_TRUE(IsTempFileName(".tmp-seg.m4s-abc123"));
  EXPECT_FALSE(IsTempFileName("seg.m4s"));
  EXPECT_FALSE(IsTempFileName(".tm"));
}

TEST_F(PosixFileTest, OpenFdOfMissingFileIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(OpenFd(dir_ / "missing", O_RDONLY).status()));
}

TEST_F(PosixFileTest, WriteAllThenPreadExactlyRoundTrips) {
  fs::path path = dir_ / "f";
  absl::StatusOr<UniqueFd> fd = OpenFd(path, O_RDWR | O_CREAT | O_EXCL);
  ASSERT_TRUE(fd.ok()) << fd.status();
  ASSERT_TRUE(WriteAll(fd->get(), "hello world", path).ok());
  char buffer[5];
  ASSERT_TRUE(PreadExactly(fd->get(), buffer, 5, 6, path).ok());
  EXPECT_EQ(std::string(buffer, 5), "world");
  EXPECT_TRUE(fd->SyncAndClose(path).ok());
  EXPECT_FALSE(fd->valid());
}

TEST_F(PosixFileTest, PreadExactlyPastTheEndIsDataLoss) {
  fs::path path = dir_ / "short";
  std::ofstream(path) << "abc";
  absl::StatusOr<UniqueFd> fd = OpenFd(path, O_RDONLY);
  ASSERT_TRUE(fd.ok()) << fd.status();
  char buffer[4];
  EXPECT_TRUE(absl::IsDataLoss(PreadExactly(fd->get(), buffer, 4, 0, path)));
  absl::StatusOr<size_t> some = PreadSome(fd->get(), buffer, 4, 1, path);
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_EQ(*some, 2u);
  EXPECT_EQ(*PreadSome(fd->get(), buffer, 4, 3, path), 0u);
}

TEST_F(PosixFileTest, FileSizeOfRegularFileMissingFileAndFolder) {
  std::ofstream(dir_ / "f") << "12345";
  EXPECT_EQ(*FileSize(dir_ / "f"), 5u);
  EXPECT_TRUE(absl::IsNotFound(FileSize(dir_ / "missing").status()));
  EXPECT_TRUE(absl::IsNotFound(FileSize(dir_).status()));
  absl::StatusOr<UniqueFd> fd = OpenFd(dir_ / "f", O_RDONLY);
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_EQ(*FileSize(fd->get(), dir_ / "f"), 5u);
}

TEST_F(PosixFileTest, EnsureFolderCreatesOnceAndSyncFolderSucceeds) {
  EXPECT_TRUE(EnsureFolder(dir_ / "sub").ok());
  EXPECT_TRUE(fs::is_directory(dir_ / "sub"));
  EXPECT_TRUE(EnsureFolder(dir_ / "sub").ok());
  EXPECT_TRUE(SyncFolder(dir_ / "sub").ok());
  EXPECT_TRUE(absl::IsNotFound(EnsureFolder(dir_ / "no" / "such")));
  EXPECT_TRUE(absl::IsNotFound(SyncFolder(dir_ / "missing")));
}

TEST_F(PosixFileTest, RenameDurablyMovesTheFile) {
  std::ofstream(dir_ / "a") << "content";
  ASSERT_TRUE(RenameDurably(dir_ / "a", dir_ / "b").ok());
  EXPECT_THAT(Names(), UnorderedElementsAre("b"));
  EXPECT_EQ(Contents(dir_ / "b"), "content");
  EXPECT_TRUE(absl::IsNotFound(RenameDurably(dir_ / "a", dir_ / "c")));
}

TEST_F(PosixFileTest, WriteFileAtomicallyCreatesAndReplacesWithoutLeftovers) {
  fs::path path = dir_ / "f";
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  EXPECT_EQ(Contents(path), "first");
  ASSERT_TRUE(WriteFileAtomically(path, "second, longer").ok());
  EXPECT_EQ(Contents(path), "second, longer");
  EXPECT_THAT(Names(), UnorderedElementsAre("f"));
  struct stat info;
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0644u);
}

TEST_F(PosixFileTest, FailedFillKeepsTheOldFileAndRemovesTheTemp) {
  fs::path path = dir_ / "f";
  ASSERT_TRUE(WriteFileAtomically(path, "old").ok());
  absl::Status status = WriteFileAtomically(path, [&](int fd) {
    EXPECT_TRUE(WriteAll(fd, "partial", path).ok());
    return absl::InternalError("disk went away");
  });
  EXPECT_TRUE(absl::IsInternal(status));
  EXPECT_EQ(Contents(path), "old");
  EXPECT_THAT(Names(), UnorderedElementsAre("f"));
}

TEST_F(PosixFileTest, TempFileLivesBesideItsTargetUntilCommitted) {
  fs::path path = dir_ / "f";
  {
    absl::StatusOr<TempFile> temp = TempFile::Create(path);
    ASSERT_TRUE(temp.ok()) << temp.status();
    EXPECT_EQ(temp->path().parent_path(), dir_);
    EXPECT_TRUE(IsTempFileName(temp->path().filename().string()));
    EXPECT_TRUE(fs::exists(temp->path()));
  }
  EXPECT_TRUE(Names().empty());
}

TEST_F(PosixFileTest, WriteFileAtomicallyInMissingFolderIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(WriteFileAtomically(dir_ / "missing" / "f", "x")));
}

}  // namespace
}  // namespace dvs::common
