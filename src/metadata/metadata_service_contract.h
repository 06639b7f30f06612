// Test-only: the behaviour every VideoMetadataService promises
// (metadata_service.h), run against each backend. A backend's test defines a
// type with
//   void SetUp();                                   // a fresh, empty store
//   std::unique_ptr<VideoMetadataService> Open();   // a new service on that store
// (two services opened on one store stand for two processes) and writes
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, MetadataServiceContract, ThatType);
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <memory>
#include <optional>
#include <set>
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
  meta.owner = "alice";
  meta.visibility = Visibility::kUnlisted;
  meta.generation = "0123456789abcdef";
  meta.index = {FileIndexName(std::string(64, 'c')), std::string(64, 'c'), 42};
  meta.renditions = {{640, 360, 800000}};
  meta.poster = "poster.jpg";
  absl::StatusOr<int64_t> revision = this->service_->Create(meta);
  ASSERT_TRUE(revision.ok()) << revision.status();
  EXPECT_GT(*revision, 0);
  meta.revision = *revision;
  absl::StatusOr<VideoMetadata> read = this->service_->Read("clip");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, meta);
}

TYPED_TEST_P(MetadataServiceContract, UpdateReplacesTheRecordAndMovesItsRevision) {
  ASSERT_TRUE(this->service_->Create(Video("clip", 1000)).ok());
  absl::StatusOr<VideoMetadata> changed = this->service_->Read("clip");
  ASSERT_TRUE(changed.ok()) << changed.status();
  changed->state = VideoState::kReady;
  changed->playable = true;
  absl::StatusOr<int64_t> revision = this->service_->Update(*changed);
  ASSERT_TRUE(revision.ok()) << revision.status();
  EXPECT_GT(*revision, changed->revision);
  changed->revision = *revision;
  absl::StatusOr<VideoMetadata> read = this->service_->Read("clip");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, *changed);
}

TYPED_TEST_P(MetadataServiceContract, AnUpdateFromAStaleReadIsAbortedAndChangesNothing) {
  ASSERT_TRUE(this->service_->Create(Video("clip", 1000)).ok());
  std::unique_ptr<VideoMetadataService> other = this->backend_.Open();
  absl::StatusOr<VideoMetadata> mine = this->service_->Read("clip");
  absl::StatusOr<VideoMetadata> theirs = other->Read("clip");
  ASSERT_TRUE(mine.ok() && theirs.ok());
  theirs->title = "theirs.mp4";
  ASSERT_TRUE(other->Update(*theirs).ok());
  mine->title = "mine.mp4";
  EXPECT_EQ(this->service_->Update(*mine).status().code(), absl::StatusCode::kAborted);
  absl::StatusOr<VideoMetadata> read = this->service_->Read("clip");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->title, "theirs.mp4");
}

TYPED_TEST_P(MetadataServiceContract, RecordsOverTheSizeLimitAreRefused) {
  VideoMetadata meta = Video("big", 1);
  meta.error = std::string(kMaxRecordBytes, 'x');
  EXPECT_EQ(this->service_->Create(meta).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(this->service_->Read("big").status().code(), absl::StatusCode::kNotFound);
}

TYPED_TEST_P(MetadataServiceContract, ProgressIsKeptApartFromTheRecordAndGoesWithIt) {
  ASSERT_TRUE(this->service_->Create(Video("clip", 1000)).ok());
  EXPECT_EQ(this->service_->ReadProgress("clip"), std::nullopt);
  ASSERT_TRUE(this->service_->PublishProgress("clip", 0.25).ok());
  EXPECT_EQ(this->service_->ReadProgress("clip"), 0.25);
  absl::StatusOr<VideoMetadata> read = this->service_->Read("clip");
  ASSERT_TRUE(read.ok());
  ASSERT_TRUE(this->service_->Delete("clip").ok());
  EXPECT_EQ(this->service_->ReadProgress("clip"), std::nullopt);
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
  EXPECT_EQ(service.Update(Video("nope", 1)).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service.Delete("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service.Read("nope").status().code(), absl::StatusCode::kNotFound);
}

TYPED_TEST_P(MetadataServiceContract, InvalidIdsAreRefused) {
  VideoMetadataService& service = *this->service_;
  EXPECT_EQ(service.Create(Video("", 1)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service.Create(Video("../x", 1)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(service.Read("a/b").status().code(), absl::StatusCode::kInvalidArgument);
}

TYPED_TEST_P(MetadataServiceContract, DuplicateCreateIsAlreadyExistsAndKeepsTheFirst) {
  ASSERT_TRUE(this->service_->Create(Video("clip", 1000)).ok());
  absl::Status again = this->service_->Create(Video("clip", 2000)).status();
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "video id \"clip\" is taken");
  absl::StatusOr<VideoMetadata> read = this->service_->Read("clip");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->uploaded_at_ms, 1000);
}

// Every id of a walk from the first page to the last, `limit` at a time.
inline std::vector<std::string> WalkAll(VideoMetadataService& service, size_t limit,
                                        const std::function<void()>& between_pages = nullptr) {
  std::vector<std::string> ids;
  std::string cursor;
  for (int pages = 0; pages < 10000; ++pages) {
    absl::StatusOr<VideoPage> page = service.List(cursor, limit);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    EXPECT_LE(page->videos.size(), limit);
    for (const VideoMetadata& meta : page->videos) ids.push_back(meta.id);
    if (page->next_cursor.empty()) break;
    cursor = page->next_cursor;
    if (between_pages) between_pages();
  }
  return ids;
}

TYPED_TEST_P(MetadataServiceContract, ListIsNewestFirstThenById) {
  for (auto [id, at] : std::vector<std::pair<std::string, int>>{
           {"old", 100}, {"newest", 300}, {"b-mid", 200}, {"a-mid", 200}}) {
    ASSERT_TRUE(this->service_->Create(Video(id, at)).ok());
  }
  absl::StatusOr<VideoPage> page = this->service_->List("", 10);
  ASSERT_TRUE(page.ok()) << page.status();
  std::vector<std::string> ids;
  for (const VideoMetadata& meta : page->videos) ids.push_back(meta.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"newest", "a-mid", "b-mid", "old"}));
  EXPECT_TRUE(page->next_cursor.empty());
}

TYPED_TEST_P(MetadataServiceContract, PagesWalkEveryVideoOnceInOrder) {
  std::vector<std::string> expected;
  for (int i = 0; i < 23; ++i) {
    // Pairs of equal upload times, so pages also cut between ties.
    ASSERT_TRUE(this->service_->Create(Video(absl::StrCat("v", 100 + i), 1000 - i / 2)).ok());
  }
  absl::StatusOr<VideoPage> all = this->service_->List("", 100);
  ASSERT_TRUE(all.ok());
  for (const VideoMetadata& meta : all->videos) expected.push_back(meta.id);
  ASSERT_EQ(expected.size(), 23u);
  for (size_t limit : {1, 2, 5, 22, 23}) {
    EXPECT_EQ(WalkAll(*this->service_, limit), expected) << "limit " << limit;
  }
}

TYPED_TEST_P(MetadataServiceContract, AWalkDuringUploadsSkipsNoneAndRepeatsNone) {
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(this->service_->Create(Video(absl::StrCat("old-", i), 1000 + i)).ok());
  }
  std::unique_ptr<VideoMetadataService> uploader = this->backend_.Open();
  std::atomic<bool> stop = false;
  std::atomic<int> created = 0;
  std::thread uploads([&] {
    for (int i = 0; !stop; ++i) {
      if (uploader->Create(Video(absl::StrCat("new-", i), 5000 + i)).ok()) ++created;
    }
  });
  std::vector<std::string> ids = WalkAll(
      *this->service_, 4, [] { std::this_thread::sleep_for(std::chrono::milliseconds(5)); });
  stop = true;
  uploads.join();
  EXPECT_GT(created, 0);
  std::vector<std::string> old;
  for (const std::string& id : ids) {
    if (id.starts_with("old-")) old.push_back(id);
  }
  std::vector<std::string> expected;
  for (int i = 29; i >= 0; --i) expected.push_back(absl::StrCat("old-", i));
  EXPECT_EQ(old, expected);  // each once, in order
  std::set<std::string> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), ids.size());
}

TYPED_TEST_P(MetadataServiceContract, ACursorThatIsNotOursIsInvalidArgument) {
  for (std::string_view cursor : {"nonsense", "12.../x", ".clip", "x.clip"}) {
    EXPECT_EQ(this->service_->List(cursor, 5).status().code(), absl::StatusCode::kInvalidArgument)
        << cursor;
  }
}

TYPED_TEST_P(MetadataServiceContract, EmptyStoreListsNothingAndIsHealthy) {
  absl::StatusOr<VideoPage> page = this->service_->List("", 50);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_TRUE(page->videos.empty());
  EXPECT_TRUE(page->next_cursor.empty());
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
      absl::Status status = this->service_->Create(Video("contested", i)).status();
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
        absl::Status status = service->Create(Video(absl::StrCat("video-", id), id)).status();
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
  EXPECT_EQ(WalkAll(*second, 7).size(), static_cast<size_t>(kIds));
}

TYPED_TEST_P(MetadataServiceContract, ASmallRecordIsCreatedOnceThenReplacedByRevision) {
  SmallRecordStore& store = *this->service_;
  EXPECT_EQ(store.ReadSmall("user", "alice").status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<int64_t> first = store.WriteSmall("user", "alice", R"({"a":1})", 0);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_GT(*first, 0);
  // Creating it again is a conflict, and keeps the first value.
  EXPECT_EQ(store.WriteSmall("user", "alice", "other", 0).status().code(),
            absl::StatusCode::kAborted);
  absl::StatusOr<SmallRecord> read = this->backend_.Open()->ReadSmall("user", "alice");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->key, "alice");
  EXPECT_EQ(read->value, R"({"a":1})");
  EXPECT_EQ(read->revision, *first);
  absl::StatusOr<int64_t> second = store.WriteSmall("user", "alice", R"({"a":2})", *first);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(*second, *first);
  // A write from the stale revision loses.
  EXPECT_EQ(store.WriteSmall("user", "alice", "stale", *first).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store.ReadSmall("user", "alice")->value, R"({"a":2})");
  EXPECT_EQ(store.ReadSmall("user", "alice")->revision, *second);
}

TYPED_TEST_P(MetadataServiceContract, SmallRecordsOfOneKindAreApartFromOtherKindsAndVideos) {
  SmallRecordStore& store = *this->service_;
  ASSERT_TRUE(store.WriteSmall("user", "same", "u", 0).ok());
  ASSERT_TRUE(store.WriteSmall("token", "same", "t", 0).ok());
  ASSERT_TRUE(this->service_->Create(Video("same", 1)).ok());
  EXPECT_EQ(store.ReadSmall("user", "same")->value, "u");
  EXPECT_EQ(store.ReadSmall("token", "same")->value, "t");
  ASSERT_TRUE(store.DeleteSmall("token", "same").ok());
  EXPECT_EQ(store.ReadSmall("token", "same").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.DeleteSmall("token", "same").code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store.ReadSmall("user", "same").ok());
  EXPECT_TRUE(this->service_->Read("same").ok());
  EXPECT_EQ(WalkAll(*this->service_, 10).size(), 1u);
  // Deleted, the key can be created anew.
  EXPECT_TRUE(store.WriteSmall("token", "same", "t2", 0).ok());
}

// A revision read before a delete must not match the record created anew
// after it: a stale compare-and-set (a job claim, a token update) fails.
TYPED_TEST_P(MetadataServiceContract, ASmallRecordCreatedAnewNeverReusesAnOldRevision) {
  SmallRecordStore& store = *this->service_;
  absl::StatusOr<int64_t> first = store.WriteSmall("job", "v1", "a", 0);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<int64_t> second = store.WriteSmall("job", "v1", "b", *first);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(store.DeleteSmall("job", "v1").ok());
  absl::StatusOr<int64_t> again = store.WriteSmall("job", "v1", "c", 0);
  ASSERT_TRUE(again.ok()) << again.status();
  absl::StatusOr<int64_t> updated = store.WriteSmall("job", "v1", "d", *again);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_GT(*again, *second);
  EXPECT_EQ(store.WriteSmall("job", "v1", "stale", *first).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store.WriteSmall("job", "v1", "stale", *second).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(store.DeleteSmallAt("job", "v1", *second).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store.ReadSmall("job", "v1")->value, "d");
  // Revisions keep rising in a service opened afresh on the same store.
  absl::StatusOr<int64_t> reopened = this->backend_.Open()->WriteSmall("job", "v2", "e", 0);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_GT(*reopened, *updated);
}

TYPED_TEST_P(MetadataServiceContract, SmallRecordsAreListedByKeyPageByPage) {
  SmallRecordStore& store = *this->service_;
  for (std::string key : {"d", "a", "c", "e", "b"}) {
    ASSERT_TRUE(store.WriteSmall("token", key, "v" + key, 0).ok());
  }
  ASSERT_TRUE(store.WriteSmall("user", "aa", "not a token", 0).ok());
  std::vector<std::string> keys;
  std::string after;
  int pages = 0;
  while (true) {
    absl::StatusOr<SmallRecordPage> page = store.ListSmall("token", after, 2);
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    for (const SmallRecord& record : page->records) {
      keys.push_back(record.key);
      EXPECT_EQ(record.value, "v" + record.key);
      EXPECT_GT(record.revision, 0);
    }
    if (!page->more) break;
    ASSERT_FALSE(page->records.empty());
    after = page->records.back().key;
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(pages, 3);
  EXPECT_TRUE(store.ListSmall("secret", "", 10)->records.empty());
}

TYPED_TEST_P(MetadataServiceContract, BadSmallRecordKindsKeysAndSizesAreRefused) {
  SmallRecordStore& store = *this->service_;
  for (std::string kind :
       std::vector<std::string>{"", "User", "a/b", "video", std::string(17, 'k')}) {
    EXPECT_EQ(store.WriteSmall(kind, "key", "v", 0).status().code(),
              absl::StatusCode::kInvalidArgument)
        << kind;
  }
  for (std::string key : {"", "../x", "a/b", ".hidden"}) {
    EXPECT_EQ(store.WriteSmall("user", key, "v", 0).status().code(),
              absl::StatusCode::kInvalidArgument)
        << key;
    EXPECT_EQ(store.ReadSmall("user", key).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(store.WriteSmall("user", "big", std::string(kMaxSmallRecordBytes + 1, 'x'), 0)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store.WriteSmall("user", "big", std::string(kMaxSmallRecordBytes, 'x'), 0).ok());
}

TYPED_TEST_P(MetadataServiceContract, ASmallRecordIsDeletedByRevisionOnlyWhenUnchanged) {
  SmallRecordStore& store = *this->service_;
  absl::StatusOr<int64_t> first = store.WriteSmall("job", "clip", "one", 0);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<int64_t> second = store.WriteSmall("job", "clip", "two", *first);
  ASSERT_TRUE(second.ok()) << second.status();
  // A deleter that read the first revision loses, and the record stays.
  EXPECT_EQ(store.DeleteSmallAt("job", "clip", *first).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store.ReadSmall("job", "clip")->value, "two");
  EXPECT_TRUE(store.DeleteSmallAt("job", "clip", *second).ok());
  EXPECT_EQ(store.ReadSmall("job", "clip").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.DeleteSmallAt("job", "clip", *second).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.DeleteSmallAt("job", "../x", 1).code(), absl::StatusCode::kInvalidArgument);
}

TYPED_TEST_P(MetadataServiceContract, TwoServicesRacingToCreateOneSmallRecordHaveOneWinner) {
  std::unique_ptr<VideoMetadataService> first = this->backend_.Open();
  std::unique_ptr<VideoMetadataService> second = this->backend_.Open();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::atomic<int> won = 0, lost = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    VideoMetadataService* service = i % 2 == 0 ? first.get() : second.get();
    threads.emplace_back([&, service, i] {
      start.arrive_and_wait();
      absl::Status status = service->WriteSmall("user", "admin", absl::StrCat(i), 0).status();
      if (status.ok()) ++won;
      if (status.code() == absl::StatusCode::kAborted) ++lost;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(won, 1);
  EXPECT_EQ(lost, kThreads - 1);
}

REGISTER_TYPED_TEST_SUITE_P(
    MetadataServiceContract, CreateThenReadReturnsTheSameRecord,
    UpdateReplacesTheRecordAndMovesItsRevision, AnUpdateFromAStaleReadIsAbortedAndChangesNothing,
    RecordsOverTheSizeLimitAreRefused, ProgressIsKeptApartFromTheRecordAndGoesWithIt,
    DeleteRemovesTheRecordAndFreesTheId, MissingIdsAreNotFoundAndUpdateDoesNotCreate,
    InvalidIdsAreRefused, DuplicateCreateIsAlreadyExistsAndKeepsTheFirst, ListIsNewestFirstThenById,
    PagesWalkEveryVideoOnceInOrder, AWalkDuringUploadsSkipsNoneAndRepeatsNone,
    ACursorThatIsNotOursIsInvalidArgument, EmptyStoreListsNothingAndIsHealthy,
    RingStateIsAbsentThenStoredThenReplaced, ThreadsRacingToCreateOneIdHaveExactlyOneWinner,
    TwoServicesRacingCreateHaveOneWinnerPerId, ASmallRecordIsCreatedOnceThenReplacedByRevision,
    SmallRecordsOfOneKindAreApartFromOtherKindsAndVideos, SmallRecordsAreListedByKeyPageByPage,
    BadSmallRecordKindsKeysAndSizesAreRefused, ASmallRecordIsDeletedByRevisionOnlyWhenUnchanged,
    TwoServicesRacingToCreateOneSmallRecordHaveOneWinner,
    ASmallRecordCreatedAnewNeverReusesAnOldRevision);

}  // namespace dvs::metadata::testing
