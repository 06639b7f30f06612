// The etcd backend against a real 3-member etcd cluster: the metadata
// service contract (metadata_service_contract.h), plus what is etcd's own.
#include "metadata/etcd/etcd_metadata_service.h"

#include <atomic>
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
    return std::make_unique<EtcdMetadataService>(g_cluster->NewClient(), prefix);
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
    return std::make_unique<EtcdMetadataService>(g_cluster->NewClient(), prefix_);
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
}

TEST_F(EtcdMetadataServiceTest, UpdateAfterAnotherServiceDeletedIsNotFound) {
  auto other = NewService();
  ASSERT_TRUE(service_->Create(Video("gone", 5)).ok());
  ASSERT_TRUE(other->Delete("gone").ok());
  EXPECT_EQ(service_->Update(Video("gone", 6)).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(other->Read("gone").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(EtcdMetadataServiceTest, NonRecordValueUnderThePrefixIsDataLoss) {
  ASSERT_TRUE(g_cluster->NewClient()->Put(prefix_ + "videos/junk", "not json").ok());
  EXPECT_EQ(service_->Read("junk").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(service_->List().status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace dvs::metadata
