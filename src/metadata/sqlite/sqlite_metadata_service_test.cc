#include "metadata/sqlite/sqlite_metadata_service.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace dvs::metadata {
namespace {

VideoMetadata Video(std::string id, int64_t uploaded_at_ms) {
  VideoMetadata meta;
  meta.id = std::move(id);
  meta.title = meta.id + ".mp4";
  meta.uploaded_at_ms = uploaded_at_ms;
  return meta;
}

class SqliteMetadataServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "sqlite_meta-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    db_path_ = dir_ / "nested" / "folder" / "dvs.db";  // Open must create the parents
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<SqliteMetadataService> OpenOrDie() {
    absl::StatusOr<std::unique_ptr<SqliteMetadataService>> service =
        SqliteMetadataService::Open(db_path_);
    EXPECT_TRUE(service.ok()) << service.status();
    return service.ok() ? std::move(*service) : nullptr;
  }

  std::filesystem::path dir_;
  std::filesystem::path db_path_;
};

TEST_F(SqliteMetadataServiceTest, CreateThenReadReturnsTheSameRecord) {
  auto service = OpenOrDie();
  ASSERT_NE(service, nullptr);
  VideoMetadata meta = Video("clip", 1000);
  meta.files = {{"manifest.mpd", 42, std::string(64, 'c')}};
  meta.renditions = {{640, 360, 800000}};
  ASSERT_TRUE(service->Create(meta).ok());
  absl::StatusOr<VideoMetadata> read = service->Read("clip");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, meta);
  EXPECT_TRUE(std::filesystem::exists(db_path_));
}

TEST_F(SqliteMetadataServiceTest, UpdateReplacesTheRecord) {
  auto service = OpenOrDie();
  ASSERT_NE(service, nullptr);
  ASSERT_TRUE(service->Create(Video("clip", 1000)).ok());
  VideoMetadata changed = Video("clip", 1000);
  changed.state = VideoState::kReady;
  changed.progress = 1;
  changed.playable = true;
  ASSERT_TRUE(service->Update(changed).ok());
  absl::StatusOr<VideoMetadata> read = service->Read("clip");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, changed);
}

TEST_F(SqliteMetadataServiceTest, DeleteRemovesTheRecord) {
  auto service = OpenOrDie();
  ASSERT_NE(service, nullptr);
  ASSERT_TRUE(service->Create(Video("clip", 1000)).ok());
  ASSERT_TRUE(service->Delete("clip").ok());
  EXPECT_EQ(service->Read("clip").status().code(), absl::StatusCode::kNotFound);
  // The id is free again.
  EXPECT_TRUE(service->Create(Video("clip", 2000)).ok());
}

TEST_F(SqliteMetadataServiceTest, MissingIdsAreNotFound) {
  auto service = OpenOrDie();
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->Read("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service->Update(Video("nope", 1)).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service->Delete("nope").code(), absl::StatusCode::kNotFound);
  // Update must not have created it.
  EXPECT_EQ(service->Read("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SqliteMetadataServiceTest, InvalidIdsAreRefused) {
  auto service = OpenOrDie();
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->Create(Video("", 1)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service->Create(Video("../x", 1)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service->Read("a/b").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteMetadataServiceTest, DuplicateCreateIsAlreadyExistsAndKeepsTheFirst) {
  auto service = OpenOrDie();
  ASSERT_NE(service, nullptr);
  ASSERT_TRUE(service->Create(Video("clip", 1000)).ok());
  absl::Status again = service->Create(Video("clip", 2000));
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "video id \"clip\" is taken");
  absl::StatusOr<VideoMetadata> read = service->Read("clip");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->uploaded_at_ms, 1000);
}

TEST_F(SqliteMetadataServiceTest, ListIsNewestFirstThenById) {
  auto service = OpenOrDie();
  ASSERT_NE(service, nullptr);
  ASSERT_TRUE(service->Create(Video("old", 100)).ok());
  ASSERT_TRUE(service->Create(Video("newest", 300)).ok());
  ASSERT_TRUE(service->Create(Video("b-mid", 200)).ok());
  ASSERT_TRUE(service->Create(Video("a-mid", 200)).ok());
  absl::StatusOr<std::vector<VideoMetadata>> list = service->List();
  ASSERT_TRUE(list.ok()) << list.status();
  std::vector<std::string> ids;
  for (const VideoMetadata& meta : *list) ids.push_back(meta.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"newest", "a-mid", "b-mid", "old"}));
}

TEST_F(SqliteMetadataServiceTest, ListFollowsUpdatedUploadTime) {
  auto service = OpenOrDie();
  ASSERT_NE(service, nullptr);
  ASSERT_TRUE(service->Create(Video("a", 100)).ok());
  ASSERT_TRUE(service->Create(Video("b", 200)).ok());
  ASSERT_TRUE(service->Update(Video("a", 300)).ok());
  absl::StatusOr<std::vector<VideoMetadata>> list = service->List();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "a");
}

TEST_F(SqliteMetadataServiceTest, EmptyDatabaseListsNothing) {
  auto service = OpenOrDie();
  ASSERT_NE(service, nullptr);
  absl::StatusOr<std::vector<VideoMetadata>> list = service->List();
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_TRUE(list->empty());
  EXPECT_TRUE(service->CheckHealth().ok());
}

TEST_F(SqliteMetadataServiceTest, RingStateIsAbsentThenStoredThenReplaced) {
  auto service = OpenOrDie();
  ASSERT_NE(service, nullptr);
  absl::StatusOr<std::optional<std::string>> state = service->LoadRingState();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_FALSE(state->has_value());
  ASSERT_TRUE(service->StoreRingState(R"({"epoch":1})").ok());
  state = service->LoadRingState();
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ(**state, R"({"epoch":1})");
  ASSERT_TRUE(service->StoreRingState(R"({"epoch":2})").ok());
  state = service->LoadRingState();
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ(**state, R"({"epoch":2})");
}

TEST_F(SqliteMetadataServiceTest, ReopeningTheFileFindsTheData) {
  {
    auto service = OpenOrDie();
    ASSERT_NE(service, nullptr);
    ASSERT_TRUE(service->Create(Video("kept", 1000)).ok());
    ASSERT_TRUE(service->StoreRingState("ring-v1").ok());
  }
  auto reopened = OpenOrDie();
  ASSERT_NE(reopened, nullptr);
  absl::StatusOr<VideoMetadata> read = reopened->Read("kept");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, Video("kept", 1000));
  absl::StatusOr<std::optional<std::string>> state = reopened->LoadRingState();
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ(**state, "ring-v1");
}

TEST_F(SqliteMetadataServiceTest, ThreadsRacingToCreateOneIdHaveExactlyOneWinner) {
  auto service = OpenOrDie();
  ASSERT_NE(service, nullptr);
  constexpr int kThreads = 16;
  std::latch start(kThreads);
  std::atomic<int> won = 0, taken = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      absl::Status status = service->Create(Video("contested", i));
      if (status.ok()) ++won;
      if (status.code() == absl::StatusCode::kAlreadyExists) ++taken;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(won, 1);
  EXPECT_EQ(taken, kThreads - 1);
}

TEST_F(SqliteMetadataServiceTest, TwoServicesOnOneFileRacingCreateHaveOneWinnerPerId) {
  auto first = OpenOrDie();
  auto second = OpenOrDie();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  constexpr int kIds = 30;
  constexpr int kThreadsPerService = 3;
  std::vector<std::atomic<int>> wins(kIds);
  std::atomic<int> other_errors = 0;
  std::latch start(2 * kThreadsPerService);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kThreadsPerService; ++t) {
    SqliteMetadataService* service = t % 2 == 0 ? first.get() : second.get();
    threads.emplace_back([&, service] {
      start.arrive_and_wait();
      for (int id = 0; id < kIds; ++id) {
        absl::Status status = service->Create(Video(absl::StrCat("video-", id), id));
        if (status.ok()) {
          ++wins[id];
        } else if (status.code() != absl::StatusCode::kAlreadyExists) {
          ++other_errors;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(other_errors, 0);
  for (int id = 0; id < kIds; ++id) EXPECT_EQ(wins[id], 1) << "video-" << id;
  absl::StatusOr<std::vector<VideoMetadata>> list = second->List();
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->size(), static_cast<size_t>(kIds));
}

// Each child process opens the file itself and tries every id; its exit code
// is how many it won (or 255 on any error other than AlreadyExists).
int CreateAllInChild(const std::filesystem::path& db_path, int ids) {
  absl::StatusOr<std::unique_ptr<SqliteMetadataService>> service =
      SqliteMetadataService::Open(db_path);
  if (!service.ok()) return 255;
  int won = 0;
  for (int id = 0; id < ids; ++id) {
    absl::Status status = (*service)->Create(Video(absl::StrCat("proc-", id), id));
    if (status.ok()) {
      ++won;
    } else if (status.code() != absl::StatusCode::kAlreadyExists) {
      return 255;
    }
  }
  return won;
}

TEST_F(SqliteMetadataServiceTest, ProcessesRacingCreateHaveOneWinnerPerId) {
  ASSERT_NE(OpenOrDie(), nullptr);  // create the file and schema first
  constexpr int kProcesses = 4;
  constexpr int kIds = 50;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(CreateAllInChild(db_path_, kIds));
    children.push_back(pid);
  }
  int total_wins = 0;
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_NE(WEXITSTATUS(status), 255) << "a child saw an unexpected error";
    total_wins += WEXITSTATUS(status);
  }
  EXPECT_EQ(total_wins, kIds);
  auto service = OpenOrDie();
  ASSERT_NE(service, nullptr);
  absl::StatusOr<std::vector<VideoMetadata>> list = service->List();
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->size(), static_cast<size_t>(kIds));
}

TEST_F(SqliteMetadataServiceTest, NonDatabaseFileIsAnErrorNotACrash) {
  std::filesystem::create_directories(db_path_.parent_path());
  std::ofstream file(db_path_, std::ios::binary);
  for (int i = 0; i < 1000; ++i) file << "this is not an SQLite database, just text. ";
  file.close();
  absl::StatusOr<std::unique_ptr<SqliteMetadataService>> service =
      SqliteMetadataService::Open(db_path_);
  ASSERT_FALSE(service.ok());
  EXPECT_EQ(service.status().code(), absl::StatusCode::kDataLoss) << service.status();
  EXPECT_NE(service.status().message().find("not a database"), absl::string_view::npos)
      << service.status();
}

TEST_F(SqliteMetadataServiceTest, DirectoryInPlaceOfTheFileIsAnError) {
  std::filesystem::create_directories(db_path_);
  absl::StatusOr<std::unique_ptr<SqliteMetadataService>> service =
      SqliteMetadataService::Open(db_path_);
  EXPECT_FALSE(service.ok());
}

}  // namespace
}  // namespace dvs::metadata
