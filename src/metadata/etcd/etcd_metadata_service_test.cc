// The etcd backend against a real 3-member etcd cluster: the same behaviour
// as the SQLite backend's tests, plus sharing between service instances.
#include "metadata/etcd/etcd_metadata_service.h"

#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "metadata/etcd/etcd_test_cluster.h"

namespace dvs::metadata {
namespace {

VideoMetadata Video(std::string id, int64_t uploaded_at_ms) {
  VideoMetadata meta;
  meta.id = std::move(id);
  meta.title = meta.id + ".mp4";
  meta.uploaded_at_ms = uploaded_at_ms;
  return meta;
}

// One cluster for the suite (starting one takes a second or two); each test
// gets its own key prefix so tests do not see each other's records.
class EtcdMetadataServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new EtcdTestCluster(3);
    start_status_ = new absl::Status(cluster_->Start());
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete start_status_;
  }
  void SetUp() override {
    ASSERT_TRUE(start_status_->ok()) << *start_status_;
    prefix_ = absl::StrCat("/test-",
                           ::testing::UnitTest::GetInstance()->current_test_info()->name(), "/");
    service_ = NewService();
  }
  std::unique_ptr<EtcdMetadataService> NewService() {
    return std::make_unique<EtcdMetadataService>(cluster_->NewClient(), prefix_);
  }

  static EtcdTestCluster* cluster_;
  static absl::Status* start_status_;
  std::string prefix_;
  std::unique_ptr<EtcdMetadataService> service_;
};

EtcdTestCluster* EtcdMetadataServiceTest::cluster_ = nullptr;
absl::Status* EtcdMetadataServiceTest::start_status_ = nullptr;

TEST_F(EtcdMetadataServiceTest, CreateThenReadReturnsTheSameRecord) {
  VideoMetadata meta = Video("clip", 1000);
  meta.files = {{"manifest.mpd", 42, std::string(64, 'c')}};
  meta.renditions = {{640, 360, 800000}};
  ASSERT_TRUE(service_->Create(meta).ok());
  absl::StatusOr<VideoMetadata> read = service_->Read("clip");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, meta);
}

TEST_F(EtcdMetadataServiceTest, RecordsLiveUnderThePrefixAsJson) {
  VideoMetadata meta = Video("clip", 1000);
  ASSERT_TRUE(service_->Create(meta).ok());
  absl::StatusOr<std::optional<EtcdClient::Value>> raw =
      cluster_->NewClient()->Get(prefix_ + "videos/clip");
  ASSERT_TRUE(raw.ok()) << raw.status();
  ASSERT_TRUE(raw->has_value());
  EXPECT_EQ((*raw)->value, ToJson(meta));
}

TEST_F(EtcdMetadataServiceTest, UpdateReplacesTheRecord) {
  ASSERT_TRUE(service_->Create(Video("clip", 1000)).ok());
  VideoMetadata changed = Video("clip", 1000);
  changed.state = VideoState::kReady;
  changed.progress = 1;
  changed.playable = true;
  ASSERT_TRUE(service_->Update(changed).ok());
  absl::StatusOr<VideoMetadata> read = service_->Read("clip");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, changed);
}

TEST_F(EtcdMetadataServiceTest, DeleteRemovesTheRecordAndFreesTheId) {
  ASSERT_TRUE(service_->Create(Video("clip", 1000)).ok());
  ASSERT_TRUE(service_->Delete("clip").ok());
  EXPECT_EQ(service_->Read("clip").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(service_->Create(Video("clip", 2000)).ok());
}

TEST_F(EtcdMetadataServiceTest, MissingIdsAreNotFoundAndUpdateDoesNotCreate) {
  EXPECT_EQ(service_->Read("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service_->Update(Video("nope", 1)).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service_->Delete("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service_->Read("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(EtcdMetadataServiceTest, InvalidIdsAreRefused) {
  EXPECT_EQ(service_->Create(Video("", 1)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Create(Video("../x", 1)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Read("a/b").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EtcdMetadataServiceTest, DuplicateCreateIsAlreadyExistsAndKeepsTheFirst) {
  ASSERT_TRUE(service_->Create(Video("clip", 1000)).ok());
  absl::Status again = service_->Create(Video("clip", 2000));
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "video id \"clip\" is taken");
  absl::StatusOr<VideoMetadata> read = service_->Read("clip");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->uploaded_at_ms, 1000);
}

TEST_F(EtcdMetadataServiceTest, ListIsNewestFirstThenById) {
  ASSERT_TRUE(service_->Create(Video("old", 100)).ok());
  ASSERT_TRUE(service_->Create(Video("newest", 300)).ok());
  ASSERT_TRUE(service_->Create(Video("b-mid", 200)).ok());
  ASSERT_TRUE(service_->Create(Video("a-mid", 200)).ok());
  absl::StatusOr<std::vector<VideoMetadata>> list = service_->List();
  ASSERT_TRUE(list.ok()) << list.status();
  std::vector<std::string> ids;
  for (const VideoMetadata& meta : *list) ids.push_back(meta.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"newest", "a-mid", "b-mid", "old"}));
}

TEST_F(EtcdMetadataServiceTest, EmptyPrefixListsNothingAndIsHealthy) {
  absl::StatusOr<std::vector<VideoMetadata>> list = service_->List();
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_TRUE(list->empty());
  EXPECT_TRUE(service_->CheckHealth().ok());
}

TEST_F(EtcdMetadataServiceTest, RingStateIsAbsentThenStoredThenReplaced) {
  absl::StatusOr<std::optional<std::string>> state = service_->LoadRingState();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_FALSE(state->has_value());
  ASSERT_TRUE(service_->StoreRingState(R"({"epoch":1})").ok());
  ASSERT_TRUE(service_->StoreRingState(R"({"epoch":2})").ok());
  state = NewService()->LoadRingState();  // another process sees it too
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ(**state, R"({"epoch":2})");
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

TEST_F(EtcdMetadataServiceTest, ThreadsRacingToCreateOneIdHaveExactlyOneWinner) {
  constexpr int kThreads = 16;
  std::latch start(kThreads);
  std::atomic<int> won = 0, taken = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      absl::Status status = service_->Create(Video("contested", i));
      if (status.ok()) ++won;
      if (status.code() == absl::StatusCode::kAlreadyExists) ++taken;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(won, 1);
  EXPECT_EQ(taken, kThreads - 1);
}

TEST_F(EtcdMetadataServiceTest, TwoServicesRacingCreateHaveOneWinnerPerId) {
  auto first = NewService();
  auto second = NewService();
  constexpr int kIds = 20;
  constexpr int kThreadsPerService = 3;
  std::vector<std::atomic<int>> wins(kIds);
  std::atomic<int> other_errors = 0;
  std::latch start(2 * kThreadsPerService);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kThreadsPerService; ++t) {
    EtcdMetadataService* service = t % 2 == 0 ? first.get() : second.get();
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

TEST_F(EtcdMetadataServiceTest, NonRecordValueUnderThePrefixIsDataLoss) {
  ASSERT_TRUE(cluster_->NewClient()->Put(prefix_ + "videos/junk", "not json").ok());
  EXPECT_EQ(service_->Read("junk").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(service_->List().status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace dvs::metadata
