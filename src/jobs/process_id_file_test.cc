#include "jobs/process_id_file.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace dvs::jobs {
namespace {

class ProcessIdFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "pid-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(ProcessIdFileTest, TheIdIsKeptAcrossRestarts) {
  std::string first;
  {
    absl::StatusOr<ProcessIdFile> locked = ProcessIdFile::Lock(dir_ / "work");
    ASSERT_TRUE(locked.ok()) << locked.status();
    first = locked->process_id();
    EXPECT_EQ(first.size(), 16u);
  }
  absl::StatusOr<ProcessIdFile> again = ProcessIdFile::Lock(dir_ / "work");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->process_id(), first);
}

TEST_F(ProcessIdFileTest, ASecondHolderOfTheWorkFolderIsRefused) {
  absl::StatusOr<ProcessIdFile> first = ProcessIdFile::Lock(dir_);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<ProcessIdFile> second = ProcessIdFile::Lock(dir_);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ProcessIdFileTest, AFileWithoutAUsableIdGetsANewOne) {
  std::ofstream(dir_ / "process-id") << "../../etc\n";
  absl::StatusOr<ProcessIdFile> locked = ProcessIdFile::Lock(dir_);
  ASSERT_TRUE(locked.ok()) << locked.status();
  EXPECT_EQ(locked->process_id().size(), 16u);
  std::string stored;
  std::ifstream(dir_ / "process-id") >> stored;
  EXPECT_EQ(stored, locked->process_id());
}

}  // namespace
}  // namespace dvs::jobs
