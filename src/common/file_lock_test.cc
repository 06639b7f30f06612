#include "common/file_lock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace dvs::common {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class FileLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "file_lock_test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FileLockTest, ASecondLockOfTheSameFileIsRefusedWithTheReason) {
  absl::StatusOr<FileLock> first = FileLock::Acquire(dir_ / "sub" / "metadata.db", "the database");
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<FileLock> second = FileLock::Acquire(dir_ / "sub" / "metadata.db", "the database");
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("another dvs process uses the database"));
}

TEST_F(FileLockTest, TheLockIsFreedWhenItsHolderGoes) {
  std::optional<absl::StatusOr<FileLock>> first(FileLock::Acquire(dir_ / "db", "the database"));
  ASSERT_TRUE(first->ok());
  first.reset();
  EXPECT_TRUE(FileLock::Acquire(dir_ / "db", "the database").ok());
}

}  // namespace
}  // namespace dvs::common
