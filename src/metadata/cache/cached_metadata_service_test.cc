// CachedMetadataService: the metadata contract over a real SQLite backend,
// plus what the cache adds: reads from memory, never stale after a write
// through it, bounded.
#include "metadata/cache/cached_metadata_service.h"

#include <stdlib.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "gtest/gtest.h"
#include "metadata/metadata_service_contract.h"
#include "metadata/sqlite/sqlite_metadata_service.h"

namespace dvs::metadata {
namespace {

using testing::Video;

std::unique_ptr<VideoMetadataService> OpenSqlite(const std::filesystem::path& dir) {
  absl::StatusOr<std::unique_ptr<SqliteMetadataService>> service =
      SqliteMetadataService::Open(dir / "dvs.db");
  EXPECT_TRUE(service.ok()) << service.status();
  return service.ok() ? std::move(*service) : nullptr;
}

struct CachedSqliteBackend {
  void SetUp() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cached_meta-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  ~CachedSqliteBackend() {
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
  std::unique_ptr<VideoMetadataService> Open() {
    return std::make_unique<CachedMetadataService>(OpenSqlite(dir));
  }
  std::filesystem::path dir;
};

}  // namespace

namespace testing {
INSTANTIATE_TYPED_TEST_SUITE_P(CachedSqlite, MetadataServiceContract, CachedSqliteBackend);
}  // namespace testing

namespace {

class CachedMetadataServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.SetUp();
    cache_ = std::make_unique<CachedMetadataService>(OpenSqlite(backend_.dir), 3);
  }

  CachedSqliteBackend backend_;
  std::unique_ptr<CachedMetadataService> cache_;
};

TEST_F(CachedMetadataServiceTest, MemoryAnswersOnlyAfterAReadAndFollowsEveryWrite) {
  VideoMetadata meta = Video("clip", 1000);
  meta.revision = *cache_->Create(meta);
  EXPECT_EQ(cache_->ReadFromMemory("clip"), nullptr);
  ASSERT_TRUE(cache_->Read("clip").ok());
  ASSERT_NE(cache_->ReadFromMemory("clip"), nullptr);
  EXPECT_EQ(*cache_->ReadFromMemory("clip"), meta);

  meta.title = "renamed.mp4";
  meta.index = {FileIndexName(std::string(64, 'a')), std::string(64, 'a'), 10};
  meta.revision = *cache_->Update(meta);
  EXPECT_EQ(cache_->ReadFromMemory("clip"), nullptr);
  EXPECT_EQ(*cache_->Read("clip"), meta);
  EXPECT_EQ(*cache_->ReadFromMemory("clip"), meta);

  ASSERT_TRUE(cache_->Delete("clip").ok());
  EXPECT_EQ(cache_->ReadFromMemory("clip"), nullptr);
  EXPECT_EQ(cache_->Read("clip").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(cache_->ReadFromMemory("clip"), nullptr);  // absence is not kept
}

TEST_F(CachedMetadataServiceTest, StaysWithinItsEntryLimit) {
  for (int i = 0; i < 10; ++i) {
    std::string id = "clip" + std::to_string(i);
    ASSERT_TRUE(cache_->Create(Video(id, i)).ok());
    ASSERT_TRUE(cache_->Read(id).ok());
    EXPECT_LE(cache_->entries(), 3u);
  }
  EXPECT_NE(cache_->ReadFromMemory("clip9"), nullptr);  // the newest is kept
}

TEST_F(CachedMetadataServiceTest, DropsTheLeastRecentlyUsedRecordFirst) {
  for (std::string id : {"a", "b", "c"}) {
    ASSERT_TRUE(cache_->Create(Video(id, 1)).ok());
    ASSERT_TRUE(cache_->Read(id).ok());
  }
  // "a" is the oldest read, then served again: "b" is now the least recent.
  ASSERT_NE(cache_->ReadFromMemory("a"), nullptr);
  ASSERT_TRUE(cache_->Create(Video("d", 1)).ok());
  ASSERT_TRUE(cache_->Read("d").ok());
  EXPECT_EQ(cache_->entries(), 3u);
  EXPECT_NE(cache_->ReadFromMemory("a"), nullptr);
  EXPECT_EQ(cache_->ReadFromMemory("b"), nullptr);
  EXPECT_NE(cache_->ReadFromMemory("c"), nullptr);
  EXPECT_NE(cache_->ReadFromMemory("d"), nullptr);
  // A dropped record is read again from the backend, and kept again.
  absl::StatusOr<VideoMetadata> b = cache_->Read("b");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->id, "b");
  EXPECT_NE(cache_->ReadFromMemory("b"), nullptr);
  EXPECT_EQ(cache_->entries(), 3u);
}

// A backend whose Read returns what it had when the read began, and waits
// to be released before returning: a read that loses a race with a write.
class SlowReadBackend final : public VideoMetadataService {
 public:
  absl::StatusOr<int64_t> Create(const VideoMetadata& meta) override { return Update(meta); }
  absl::StatusOr<VideoMetadata> Read(std::string_view id) override {
    std::unique_lock lock(mutex_);
    VideoMetadata seen = stored_;
    reading_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_; });
    return seen;
  }
  absl::StatusOr<VideoPage> List(std::string_view, size_t) override { return VideoPage{}; }
  absl::StatusOr<int64_t> Update(const VideoMetadata& meta) override {
    std::lock_guard lock(mutex_);
    stored_ = meta;
    return 1;
  }
  absl::Status PublishProgress(std::string_view, double) override { return absl::OkStatus(); }
  std::optional<double> ReadProgress(std::string_view) override { return std::nullopt; }
  absl::StatusOr<std::vector<LegacyRecord>> ListLegacy(std::string_view, size_t) override {
    return std::vector<LegacyRecord>{};
  }
  absl::Status Delete(std::string_view id) override { return absl::OkStatus(); }
  absl::StatusOr<std::optional<std::string>> LoadRingState() override { return std::nullopt; }
  absl::Status StoreRingState(std::string_view state) override { return absl::OkStatus(); }
  absl::Status CheckHealth() override { return absl::OkStatus(); }
  absl::StatusOr<SmallRecord> ReadSmall(std::string_view, std::string_view) override {
    return absl::UnimplementedError("not in this test");
  }
  absl::StatusOr<int64_t> WriteSmall(std::string_view, std::string_view, std::string_view,
                                     int64_t) override {
    return absl::UnimplementedError("not in this test");
  }
  absl::Status DeleteSmall(std::string_view, std::string_view) override {
    return absl::UnimplementedError("not in this test");
  }
  absl::Status DeleteSmallAt(std::string_view, std::string_view, int64_t) override {
    return absl::UnimplementedError("not in this test");
  }
  absl::StatusOr<SmallRecordPage> ListSmall(std::string_view, std::string_view, size_t) override {
    return absl::UnimplementedError("not in this test");
  }

  void WaitUntilReading() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return reading_; });
  }
  void Release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  VideoMetadata stored_;
  bool reading_ = false;
  bool released_ = false;
};

TEST(CachedMetadataServiceRaceTest, ARecordReadDuringAWriteIsNotKept) {
  auto backend = std::make_unique<SlowReadBackend>();
  SlowReadBackend& slow = *backend;
  CachedMetadataService cache(std::move(backend));
  VideoMetadata old_meta = Video("clip", 1);
  ASSERT_TRUE(cache.Create(old_meta).ok());

  std::thread reader([&] { EXPECT_EQ(cache.Read("clip")->title, "clip.mp4"); });
  slow.WaitUntilReading();
  VideoMetadata new_meta = old_meta;
  new_meta.title = "new.mp4";
  ASSERT_TRUE(cache.Update(new_meta).ok());
  slow.Release();
  reader.join();
  // The old record, read before the update finished, must not be served now.
  EXPECT_EQ(cache.ReadFromMemory("clip"), nullptr);
  EXPECT_EQ(cache.Read("clip")->title, "new.mp4");
  EXPECT_EQ(cache.ReadFromMemory("clip")->title, "new.mp4");
}

}  // namespace
}  // namespace dvs::metadata
