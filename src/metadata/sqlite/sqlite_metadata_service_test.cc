#include "metadata/sqlite/sqlite_metadata_service.h"

#include <sqlite3.h>
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
#include "metadata/metadata_service_contract.h"

namespace dvs::metadata {
namespace {

using testing::Video;

// A fresh database file in a folder Open must create, for the contract tests.
struct SqliteBackend {
  void SetUp() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sqlite_meta-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  ~SqliteBackend() {
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
  std::unique_ptr<VideoMetadataService> Open() {
    absl::StatusOr<std::unique_ptr<SqliteMetadataService>> service =
        SqliteMetadataService::Open(dir / "nested" / "folder" / "dvs.db");
    EXPECT_TRUE(service.ok()) << service.status();
    return service.ok() ? std::move(*service) : nullptr;
  }
  std::filesystem::path dir;
};

}  // namespace

namespace testing {
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, MetadataServiceContract, SqliteBackend);
}  // namespace testing

namespace {

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

TEST_F(SqliteMetadataServiceTest, OpenCreatesTheFileAndItsFolders) {
  ASSERT_NE(OpenOrDie(), nullptr);
  EXPECT_TRUE(std::filesystem::exists(db_path_));
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
  VideoMetadata expected = Video("kept", 1000);
  expected.revision = 1;
  EXPECT_EQ(*read, expected);
  absl::StatusOr<std::optional<std::string>> state = reopened->LoadRingState();
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ(**state, "ring-v1");
}

// Each child process opens the file itself and tries every id; its exit code
// is how many it won (or 255 on any error other than AlreadyExists).
int CreateAllInChild(const std::filesystem::path& db_path, int ids) {
  absl::StatusOr<std::unique_ptr<SqliteMetadataService>> service =
      SqliteMetadataService::Open(db_path);
  if (!service.ok()) return 255;
  int won = 0;
  for (int id = 0; id < ids; ++id) {
    absl::Status status = (*service)->Create(Video(absl::StrCat("proc-", id), id)).status();
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
  absl::StatusOr<VideoPage> page = service->List("", 100);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->videos.size(), static_cast<size_t>(kIds));
}

// A database as the release before file indexes wrote it: schema 1, with no
// user_version, each record carrying its file list.
void WriteSchemaOneDatabase(const std::filesystem::path& path) {
  std::filesystem::create_directories(path.parent_path());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* sql = R"sql(
    PRAGMA journal_mode=WAL;
    CREATE TABLE videos (id TEXT PRIMARY KEY NOT NULL, uploaded_at_ms INTEGER NOT NULL,
                         json TEXT NOT NULL);
    CREATE INDEX videos_newest_first ON videos (uploaded_at_ms DESC, id);
    CREATE TABLE kv (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
    INSERT INTO videos VALUES ('old', 5, '{"id":"old","title":"old.mp4","uploaded_at_ms":5,
      "state":"ready","playable":true,"progress":1,"error":"","duration_s":3,"width":4,
      "height":2,"renditions":[{"width":4,"height":2,"bandwidth":9}],
      "files":[{"name":"manifest.mpd","size":9,"sha256":"ab"},{"name":"poster.jpg","size":2,"sha256":"cd"}]}');
    INSERT INTO kv VALUES ('ring', '{"epoch":3}');
  )sql";
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST_F(SqliteMetadataServiceTest, ADatabaseOfTheFormerSchemaOpensWithItsRecordsAsLegacy) {
  WriteSchemaOneDatabase(db_path_);
  auto service = OpenOrDie();
  ASSERT_NE(service, nullptr);
  absl::StatusOr<VideoMetadata> old = service->Read("old");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->duration_s, 3);
  EXPECT_EQ(old->revision, 1);
  absl::StatusOr<std::optional<std::string>> ring = service->LoadRingState();
  ASSERT_TRUE(ring.ok() && ring->has_value());
  EXPECT_EQ(**ring, R"({"epoch":3})");

  absl::StatusOr<std::vector<VideoMetadataService::LegacyRecord>> legacy =
      service->ListLegacy("", 10);
  ASSERT_TRUE(legacy.ok()) << legacy.status();
  ASSERT_EQ(legacy->size(), 1u);
  EXPECT_EQ((*legacy)[0].files.size(), 2u);
  EXPECT_EQ((*legacy)[0].files[1].name, "poster.jpg");
  // Rewritten in the current form, it is legacy no more, also after reopening.
  VideoMetadata rewritten = (*legacy)[0].meta;
  rewritten.poster = "poster.jpg";
  ASSERT_TRUE(service->Update(rewritten).ok());
  EXPECT_TRUE(service->ListLegacy("", 10)->empty());
  service.reset();
  service = OpenOrDie();
  ASSERT_NE(service, nullptr);
  EXPECT_TRUE(service->ListLegacy("", 10)->empty());
  EXPECT_EQ(service->Read("old")->poster, "poster.jpg");
}

TEST_F(SqliteMetadataServiceTest, ADatabaseOfSchemaTwoGainsSmallRecordsAndKeepsItsVideos) {
  {
    auto service = OpenOrDie();
    ASSERT_NE(service, nullptr);
    ASSERT_TRUE(service->Create(Video("kept", 7)).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE small_records; PRAGMA user_version = 2", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto service = OpenOrDie();
  ASSERT_NE(service, nullptr);
  EXPECT_TRUE(service->Read("kept").ok());
  EXPECT_TRUE(service->ListLegacy("", 10)->empty());
  ASSERT_TRUE(service->WriteSmall("user", "admin", "{}", 0).ok());
  EXPECT_EQ(service->ReadSmall("user", "admin")->value, "{}");
}

TEST_F(SqliteMetadataServiceTest, ADatabaseOfANewerSchemaIsRefused) {
  ASSERT_NE(OpenOrDie(), nullptr);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  absl::StatusOr<std::unique_ptr<SqliteMetadataService>> service =
      SqliteMetadataService::Open(db_path_);
  ASSERT_FALSE(service.ok());
  EXPECT_EQ(service.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(service.status().message().find("newer"), absl::string_view::npos) << service.status();
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
