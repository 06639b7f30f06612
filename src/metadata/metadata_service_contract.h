// Test-only: the behaviour every VideoMetadataService promises
// (metadata_service.h), run against each backend. A backend's test defines a
// type with
//   void SetUp();                                   // a fresh, empty store
//   std::unique_ptr<VideoMetadataService> Open();   // a new service on that store
// (two services opened on one store stand for two processes) and writes
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, MetadataServiceContract, ThatType);
#pragma once

#include <atomic>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "metadata/metadata_service.h"

namespace dvs::metadata::testing {

inline VideoMetadata Video(std::string id, int64_t uploaded_at_ms) {
  VideoMetadata meta;
  meta.id = std::move(id);
  meta.title = meta.id + ".mp4";
  meta.uploaded_at_ms = uploaded_at_ms;
  return meta;
}

template <typename Backend>
class MetadataServiceContract : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.SetUp();
    service_ = backend_.Open();
    ASSERT_NE(service_, nullptr);
  }

  Backend backend_;
  std::unique_ptr<VideoMetadataService> service_;
};

TYPED_TEST_SUITE_P(MetadataServiceContract);

TYPED_TEST_P(MetadataServiceContract, CreateThenReadReturnsTheSameRecord) {
  VideoMetadata meta = Video("clip", 1000);
  meta.files = {{"manifest.mpd", 42, std::string(64, 'c')}};
  meta.renditions = {{640, 360, 800000}};
  ASSERT_TRUE(this->service_->Create(meta).ok());
  absl::StatusOr<VideoMetadata> read = this->service_->Read("clip");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, meta);
}

TYPED_TEST_P(MetadataServiceContract, UpdateReplacesTheRecord) {
  ASSERT_TRUE(this->service_->Create(Video("clip", 1000)).ok());
  VideoMetadata changed = Video("clip", 1000);
  changed.state = VideoState::kReady;
  changed.progress = 1;
  changed.playable = true;
  ASSERT_TRUE(this->service_->Update(changed).ok());
  absl::StatusOr<VideoMetadata> read = this->service_->Read("clip");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, changed);
}

TYPED_TEST_P(MetadataServiceContract, DeleteRemovesTheRecordAndFreesTheId) {
  ASSERT_TRUE(this->service_->Create(Video("clip", 1000)).ok());
  ASSERT_TRUE(this->service_->Delete("clip").ok());
  EXPECT_EQ(this->service_->Read("clip").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(this->service_->Create(Video("clip", 2000)).ok());
}

TYPED_TEST_P(MetadataServiceContract, MissingIdsAreNotFoundAndUpdateDoesNotCreate) {
  VideoMetadataService& service = *this->service_;
  EXPECT_EQ(service.Read("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service.Update(Video("nope", 1)).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service.Delete("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service.Read("nope").status().code(), absl::StatusCode::kNotFound);
}

TYPED_TEST_P(MetadataServiceContract, InvalidIdsAreRefused) {
  VideoMetadataService& service = *this->service_;
  EXPECT_EQ(service.Create(Video("", 1)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service.Create(Video("../x", 1)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service.Read("a/b").status().code(), absl::StatusCode::kInvalidArgument);
}

TYPED_TEST_P(MetadataServiceContract, DuplicateCreateIsAlreadyExistsAndKeepsTheFirst) {
  ASSERT_TRUE(this->service_->Create(Video("clip", 1000)).ok());
  absl::Status again = this->service_->Create(Video("clip", 2000));
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "video id \"clip\" is taken");
  absl::StatusOr<VideoMetadata> read = this->service_->Read("clip");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->uploaded_at_ms, 1000);
}

TYPED_TEST_P(MetadataServiceContract, ListIsNewestFirstThenById) {
  for (auto [id, at] : std::vector<std::pair<std::string, int>>{
           {"old", 100}, {"newest", 300}, {"b-mid", 200}, {"a-mid", 200}}) {
    ASSERT_TRUE(this->service_->Create(Video(id, at)).ok());
  }
  absl::StatusOr<std::vector<VideoMetadata>> list = this->service_->List();
  ASSERT_TRUE(list.ok()) << list.status();
  std::vector<std::string> ids;
  for (const VideoMetadata& meta : *list) ids.push_back(meta.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"newest", "a-mid", "b-mid", "old"}));
}

TYPED_TEST_P(MetadataServiceContract, ListFollowsUpdatedUploadTime) {
  ASSERT_TRUE(this->service_->Create(Video("a", 100)).ok());
  ASSERT_TRUE(this->service_->Create(Video("b", 200)).ok());
  ASSERT_TRUE(this->service_->Update(Video("a", 300)).ok());
  absl::StatusOr<std::vector<VideoMetadata>> list = this->service_->List();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "a");
}

TYPED_TEST_P(MetadataServiceContract, EmptyStoreListsNothingAndIsHealthy) {
  absl::StatusOr<std::vector<VideoMetadata>> list = this->service_->List();
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_TRUE(list->empty());
  EXPECT_TRUE(this->service_->CheckHealth().ok());
}

TYPED_TEST_P(MetadataServiceContract, RingStateIsAbsentThenStoredThenReplaced) {
  absl::StatusOr<std::optional<std::string>> state = this->service_->LoadRingState();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_FALSE(state->has_value());
  ASSERT_TRUE(this->service_->StoreRingState(R"({"epoch":1})").ok());
  ASSERT_TRUE(this->service_->StoreRingState(R"({"epoch":2})").ok());
  state = this->backend_.Open()->LoadRingState();  // another process sees it too
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ(**state, R"({"epoch":2})");
}

TYPED_TEST_P(MetadataServiceContract, ThreadsRacingToCreateOneIdHaveExactlyOneWinner) {
  constexpr int kThreads = 16;
  std::latch start(kThreads);
  std::atomic<int> won = 0, taken = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      absl::Status status = this->service_->Create(Video("contested", i));
      if (status.ok()) ++won;
      if (status.code() == absl::StatusCode::kAlreadyExists) ++taken;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(won, 1);
  EXPECT_EQ(taken, kThreads - 1);
}

TYPED_TEST_P(MetadataServiceContract, TwoServicesRacingCreateHaveOneWinnerPerId) {
  std::unique_ptr<VideoMetadataService> first = this->backend_.Open();
  std::unique_ptr<VideoMetadataService> second = this->backend_.Open();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  constexpr int kIds = 20;
  constexpr int kThreadsPerService = 3;
  std::vector<std::atomic<int>> wins(kIds);
  std::atomic<int> other_errors = 0;
  std::latch start(2 * kThreadsPerService);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kThreadsPerService; ++t) {
    VideoMetadataService* service = t % 2 == 0 ? first.get() : second.get();
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

REGISTER_TYPED_TEST_SUITE_P(MetadataServiceContract, CreateThenReadReturnsTheSameRecord,
                            UpdateReplacesTheRecord, DeleteRemovesTheRecordAndFreesTheId,
                            MissingIdsAreNotFoundAndUpdateDoesNotCreate, InvalidIdsAreRefused,
                            DuplicateCreateIsAlreadyExistsAndKeepsTheFirst,
                            ListIsNewestFirstThenById, ListFollowsUpdatedUploadTime,
                            EmptyStoreListsNothingAndIsHealthy,
                            RingStateIsAbsentThenStoredThenReplaced,
                            ThreadsRacingToCreateOneIdHaveExactlyOneWinner,
                            TwoServicesRacingCreateHaveOneWinnerPerId);

}  // namespace dvs::metadata::testing
