#include "web/job_sources.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>

#include "content/fs/fs_content_service.h"

namespace dvs::web {
namespace {

namespace fs = std::filesystem;

// Two servers' work folders on one machine (the local cluster), each with
// the upload of video "clip" kept where its server put it.
class JobSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(dir_);
    absl::StatusOr<std::unique_ptr<content::FsContentService>> opened =
        content::FsContentService::Open(dir_ / "content");
    ASSERT_TRUE(opened.ok()) << opened.status();
    content_ = std::move(*opened);
    for (const fs::path& source : {a_source_, b_source_}) {
      fs::create_directories(source.parent_path());
      std::ofstream(source) << "not really a video";
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  const fs::path dir_ =
      fs::path(::testing::TempDir()) /
      ("job_sources_" +
       std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  const fs::path a_source_ = dir_ / "a" / "work" / "jobs" / "clip" / "source";
  const fs::path b_source_ = dir_ / "b" / "work" / "jobs" / "clip" / "source";
  std::unique_ptr<content::FsContentService> content_;
};

TEST_F(JobSourcesTest, ASourceInTheContentServiceIsReachableFromAnyServer) {
  JobSources sources(*content_, /*shared=*/true);
  EXPECT_TRUE(sources.Reachable("content:clip/gen1.source/source", a_source_));
  EXPECT_TRUE(sources.Reachable("content:clip/gen1.source/source", b_source_));
}

TEST_F(JobSourcesTest, AServersOwnKeptFileIsReachableAndFetchedInPlace) {
  JobSources sources(*content_, /*shared=*/false);
  const std::string kept = sources.Keep("clip", "gen1", a_source_);
  EXPECT_TRUE(sources.Reachable(kept, a_source_));
  EXPECT_TRUE(sources.Fetch(kept, "clip", "gen1", a_source_).ok());
}

TEST_F(JobSourcesTest, AnotherServersFileOnThisMachineIsNotReachable) {
  JobSources sources(*content_, /*shared=*/false);
  const std::string kept_by_a = sources.Keep("clip", "gen1", a_source_);
  // B's work folder has a file at the same place in its own tree, and A's
  // file exists on this machine: neither makes A's job B's to run.
  EXPECT_FALSE(sources.Reachable(kept_by_a, b_source_));
  absl::Status fetched = sources.Fetch(kept_by_a, "clip", "gen1", b_source_);
  EXPECT_TRUE(absl::IsUnavailable(fetched)) << fetched;
  EXPECT_THAT(fetched.message(), ::testing::HasSubstr("another server's work folder"));
}

TEST_F(JobSourcesTest, AKeptFileThatIsGoneIsNotReachable) {
  JobSources sources(*content_, /*shared=*/false);
  const std::string kept = sources.Keep("clip", "gen1", a_source_);
  fs::remove(a_source_);
  EXPECT_FALSE(sources.Reachable(kept, a_source_));
}

}  // namespace
}  // namespace dvs::web
