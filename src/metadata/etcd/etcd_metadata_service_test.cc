// The etcd backend against a real 3-member etcd cluster: the metadata
// service contract (metadata_service_contract.h), plus what is etcd's own.
#include "metadata/etcd/etcd_metadata_service.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "metadata/etcd/etcd_test_cluster.h"
#include "metadata/metadata_service_contract.h"

namespace dvs::metadata {
namespace {

using testing::Video;

// One cluster for the whole program (starting one takes a second or two);
// each test gets its own key prefix so tests do not see each other's records.
EtcdTestCluster* g_cluster = nullptr;
absl::Status* g_cluster_started = nullptr;

class ClusterEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    g_cluster = new EtcdTestCluster(3);
    g_cluster_started = new absl::Status(g_cluster->Start());
  }
  void TearDown() override {
    delete g_cluster;
    delete g_cluster_started;
  }
};
[[maybe_unused]] ::testing::Environment* const kClusterEnvironment =
    ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);

size_t WalkAllIds(VideoMetadataService& service) { return testing::WalkAll(service, 150).size(); }

std::string TestPrefix() {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  return absl::StrCat("/test-", test->test_suite_name(), "-", test->name(), "/");
}

struct EtcdBackend {
  void SetUp() {
    ASSERT_TRUE(g_cluster_started->ok()) << *g_cluster_started;
    prefix = TestPrefix();
  }
  std::unique_ptr<VideoMetadataService> Open() {
    absl::StatusOr<std::unique_ptr<EtcdMetadataService>> service =
        EtcdMetadataService::Open(g_cluster->NewClient(), prefix);
    EXPECT_TRUE(service.ok()) << service.status();
    return service.ok() ? std::move(*service) : nullptr;
  }
  std::string prefix;
};

class EtcdMetadataServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(g_cluster_started->ok()) << *g_cluster_started;
    prefix_ = TestPrefix();
    service_ = NewService();
  }
  std::unique_ptr<EtcdMetadataService> NewService() {
    absl::StatusOr<std::unique_ptr<EtcdMetadataService>> service =
        EtcdMetadataService::Open(g_cluster->NewClient(), prefix_);
    EXPECT_TRUE(service.ok()) << service.status();
    return service.ok() ? std::move(*service) : nullptr;
  }
  // Waits until `check` holds (the watch delivers in milliseconds).
  static bool Eventually(const std::function<bool()>& check) {
    for (int i = 0; i < 500; ++i) {
      if (check()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return check();
  }

  std::string prefix_;
  std::unique_ptr<EtcdMetadataService> service_;
};

}  // namespace

namespace testing {
INSTANTIATE_TYPED_TEST_SUITE_P(Etcd, MetadataServiceContract, EtcdBackend);
}  // namespace testing

namespace {

TEST_F(EtcdMetadataServiceTest, RecordsLiveUnderThePrefixAsJson) {
  VideoMetadata meta = Video("clip", 1000);
  ASSERT_TRUE(service_->Create(meta).ok());
  absl::StatusOr<std::optional<EtcdClient::Value>> raw =
      g_cluster->NewClient()->Get(prefix_ + "videos/clip");
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_TRUE(raw->has_value());
  EXPECT_EQ((*raw)->value, ToJson(meta));
}

TEST_F(EtcdMetadataServiceTest, TwoServicesShareRecords) {
  auto other = NewService();
  ASSERT_TRUE(service_->Create(Video("shared", 5)).ok());
  absl::StatusOr<VideoMetadata> read = other->Read("shared");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->uploaded_at_ms, 5);
  ASSERT_TRUE(other->Delete("shared").ok());
  EXPECT_EQ(service_->Read("shared").status().code(), absl::StatusCode::kNotFound);
  // The linearizable read also dropped the record from memory at once.
  EXPECT_EQ(service_->ReadFromMemory("shared"), nullptr);
}

TEST_F(EtcdMetadataServiceTest, AnotherServersWritesReachMemoryThroughTheWatch) {
  auto other = NewService();
  ASSERT_TRUE(other->Create(Video("watched", 5)).ok());
  ASSERT_TRUE(Eventually([&] { return service_->ReadFromMemory("watched") != nullptr; }));
  ASSERT_TRUE(other->PublishProgress("watched", 0.5).ok());
  ASSERT_TRUE(Eventually([&] { return service_->ReadProgress("watched") == 0.5; }));
  absl::StatusOr<VideoPage> page = service_->List("", 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->videos.size(), 1u);
  ASSERT_TRUE(other->Delete("watched").ok());
  EXPECT_TRUE(Eventually([&] { return service_->ReadFromMemory("watched") == nullptr; }));
  EXPECT_TRUE(service_->List("", 10)->videos.empty());
}

TEST_F(EtcdMetadataServiceTest, AServerSeesItsOwnWritesAtOnce) {
  absl::StatusOr<int64_t> created = service_->Create(Video("mine", 5));
  ASSERT_TRUE(created.ok());
  std::shared_ptr<const VideoMetadata> held = service_->ReadFromMemory("mine");
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->revision, *created);
  VideoMetadata changed = *held;
  changed.title = "renamed.mp4";
  ASSERT_TRUE(service_->Update(changed).ok());
  EXPECT_EQ(service_->ReadFromMemory("mine")->title, "renamed.mp4");
  ASSERT_TRUE(service_->Delete("mine").ok());
  EXPECT_EQ(service_->ReadFromMemory("mine"), nullptr);
}

TEST_F(EtcdMetadataServiceTest, ALibraryLargerThanOneMessageLoadsPageByPage) {
  // 700 records of about 8 KiB: 5.6 MB, more than one 4 MiB gRPC message.
  std::shared_ptr<EtcdClient> client = g_cluster->NewClient();
  for (int i = 0; i < 700; ++i) {
    VideoMetadata meta = Video(absl::StrCat("big-", 1000 + i), i);
    meta.error = std::string(8000, 'e');
    ASSERT_TRUE(client->Put(prefix_ + "videos/" + meta.id, ToJson(meta)).ok());
  }
  auto loaded = NewService();
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(loaded->cached_records(), 700u);
  EXPECT_EQ(WalkAllIds(*loaded), 700u);
}

TEST_F(EtcdMetadataServiceTest, UpdateAfterAnotherServiceDeletedIsNotFound) {
  auto other = NewService();
  ASSERT_TRUE(service_->Create(Video("gone", 5)).ok());
  absl::StatusOr<VideoMetadata> read = service_->Read("gone");
  ASSERT_TRUE(read.ok());
  ASSERT_TRUE(other->Delete("gone").ok());
  EXPECT_EQ(service_->Update(*read).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(other->Read("gone").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(EtcdMetadataServiceTest, NonRecordValueUnderThePrefixIsDataLossAndNotListed) {
  ASSERT_TRUE(g_cluster->NewClient()->Put(prefix_ + "videos/junk", "not json").ok());
  ASSERT_TRUE(service_->Create(Video("fine", 1)).ok());
  EXPECT_EQ(service_->Read("junk").status().code(), absl::StatusCode::kDataLoss);
  auto reopened = NewService();
  absl::StatusOr<VideoPage> page = reopened->List("", 10);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->videos.size(), 1u);
  EXPECT_EQ(page->videos[0].id, "fine");
}

TEST_F(EtcdMetadataServiceTest, RecordsOfTheFormerFormatAreListedAsLegacyUntilRewritten) {
  std::string old =
      R"({"id":"old","title":"old.mp4","uploaded_at_ms":5,"state":"ready","playable":true,)"
      R"("progress":1,"files":[{"name":"manifest.mpd","size":9,"sha256":"ab"}]})";
  ASSERT_TRUE(g_cluster->NewClient()->Put(prefix_ + "videos/old", old).ok());
  auto opened = NewService();
  absl::StatusOr<std::vector<VideoMetadataService::LegacyRecord>> legacy =
      opened->ListLegacy("", 10);
  ASSERT_TRUE(legacy.ok()) << legacy.status();
  ASSERT_EQ(legacy->size(), 1u);
  EXPECT_EQ((*legacy)[0].files.size(), 1u);
  ASSERT_TRUE(opened->Update((*legacy)[0].meta).ok());
  EXPECT_TRUE(opened->ListLegacy("", 10)->empty());
  EXPECT_TRUE(NewService()->ListLegacy("", 10)->empty());
}

}  // namespace
}  // namespace dvs::metadata
