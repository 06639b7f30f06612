#include "content/network/content_janitor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include "content/network/network_test_cluster.h"

namespace dvs::content {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr int64_t kHour = 3600 * 1000;

TEST(GarbageCandidatesTest, AFolderIsDeletedOnlyAfterTheGracePeriod) {
  GarbageCandidates candidates(24 * kHour);
  EXPECT_THAT(candidates.Update({"clip/aa"}, 0), IsEmpty());
  EXPECT_THAT(candidates.Update({"clip/aa"}, 23 * kHour), IsEmpty());
  EXPECT_THAT(candidates.Update({"clip/aa"}, 24 * kHour), ElementsAre("clip/aa"));
  // Deleted, so forgotten: found again, its clock starts again.
  EXPECT_EQ(candidates.size(), 0u);
  EXPECT_THAT(candidates.Update({"clip/aa"}, 25 * kHour), IsEmpty());
}

TEST(GarbageCandidatesTest, APassThatFindsItReferencedStartsTheClockAgain) {
  GarbageCandidates candidates(24 * kHour);
  EXPECT_THAT(candidates.Update({"clip/aa", "clip/bb"}, 0), IsEmpty());
  // clip/aa got a record (an upload whose record came after its files).
  EXPECT_THAT(candidates.Update({"clip/bb"}, 12 * kHour), IsEmpty());
  EXPECT_THAT(candidates.Update({"clip/aa", "clip/bb"}, 25 * kHour), ElementsAre("clip/bb"));
  EXPECT_THAT(candidates.Update({"clip/aa"}, 48 * kHour), IsEmpty());
  EXPECT_THAT(candidates.Update({"clip/aa"}, 49 * kHour), ElementsAre("clip/aa"));
}

TEST(GarbageCandidatesTest, EvenWithNoGraceOnePassNeverDeletes) {
  GarbageCandidates candidates(0);
  EXPECT_THAT(candidates.Update({"clip/aa"}, 5), IsEmpty());
  EXPECT_THAT(candidates.Update({"clip/aa"}, 5), ElementsAre("clip/aa"));
}

TEST(GarbageCandidatesTest, MemoryHoldsOnlyTheUnreferenced) {
  GarbageCandidates candidates(kHour);
  (void)candidates.Update({"a/1", "b/2", "c/3"}, 0);
  EXPECT_EQ(candidates.size(), 3u);
  (void)candidates.Update({}, 1);
  EXPECT_EQ(candidates.size(), 0u);
}

// Records in memory: the referenced folders and the tombstones.
class FakeRecords final : public ContentRecords {
 public:
  void Reference(const std::string& folder) {
    std::lock_guard lock(mutex_);
    referenced_.insert(folder);
  }
  std::vector<std::string> TombstoneFolders() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> folders;
    for (const auto& [folder, at] : tombstones_) folders.push_back(folder);
    return folders;
  }

  absl::StatusOr<bool> IsReferenced(std::string_view folder) override {
    std::lock_guard lock(mutex_);
    return referenced_.contains(std::string(folder));
  }
  absl::Status AddTombstone(const Tombstone& tombstone) override {
    std::lock_guard lock(mutex_);
    tombstones_.emplace(tombstone.folder, tombstone.deleted_at_ms);
    return absl::OkStatus();
  }
  absl::Status RemoveTombstone(std::string_view folder) override {
    std::lock_guard lock(mutex_);
    tombstones_.erase(std::string(folder));
    return absl::OkStatus();
  }
  absl::Status ForEachTombstone(
      const std::function<absl::Status(const Tombstone&)>& visit) override {
    std::map<std::string, int64_t> copy;
    {
      std::lock_guard lock(mutex_);
      copy = tombstones_;
    }
    for (const auto& [folder, at] : copy) RETURN_IF_ERROR(visit(Tombstone{folder, at}));
    return absl::OkStatus();
  }

 private:
  std::mutex mutex_;
  std::set<std::string> referenced_;
  std::map<std::string, int64_t> tombstones_;
};

// A janitor over real storage servers; the ring is simply every node listed
// in `nodes_`, each holding every key.
class ContentJanitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nodes_ = cluster_.StartNodes(2);
    pool_ = std::make_unique<NodePool>(
        testing::FastOptions(nodes_).client, [this] { return now_ms_.load(); },
        std::chrono::milliseconds(100));
  }
  std::unique_ptr<ContentJanitor> MakeJanitor(ContentRecords* records, int64_t grace_ms = 0) {
    JanitorHooks hooks{
        .nodes =
            [this] {
              std::lock_guard lock(mutex_);
              return nodes_;
            },
        .holders =
            [this](const std::string&) {
              std::lock_guard lock(mutex_);
              return nodes_;
            },
        .repair = [](const std::string&, const std::string&, const std::string&) {},
    };
    JanitorOptions options{.gc_grace = std::chrono::milliseconds(grace_ms),
                           .now_ms = [this] { return now_ms_.load(); }};
    return std::make_unique<ContentJanitor>(*pool_, records, std::move(hooks), options);
  }
  void PutEverywhere(const std::string& key) {
    for (const std::string& node : nodes_) {
      ASSERT_TRUE(cluster_.Client(node).Put(key, "bytes of " + key).ok());
    }
  }
  size_t HoldersOf(const std::string& key) {
    size_t count = 0;
    for (const std::string& node : nodes_) {
      for (const std::string& held : cluster_.KeysOn(node)) count += held == key;
    }
    return count;
  }

  testing::TestCluster cluster_;
  std::mutex mutex_;
  std::vector<std::string> nodes_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  std::unique_ptr<NodePool> pool_;
  FakeRecords records_;
};

TEST_F(ContentJanitorTest, GarbageCollectionTakesOnlyUnreferencedFoldersAndOnlyOnASecondPass) {
  records_.Reference("kept/0123456789abcdef");
  records_.Reference("kept/0123456789abcdef.source");
  PutEverywhere("kept/0123456789abcdef/manifest.mpd");
  PutEverywhere("kept/0123456789abcdef.source/source");
  PutEverywhere("stray/0123456789abcdef/manifest.mpd");
  auto janitor = MakeJanitor(&records_);

  auto first = janitor->CollectGarbage();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->folders_seen, 3u);
  EXPECT_EQ(first->unreferenced, 1u);
  EXPECT_EQ(first->deleted, 0u);
  EXPECT_EQ(HoldersOf("stray/0123456789abcdef/manifest.mpd"), 2u);

  auto second = janitor->CollectGarbage();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->deleted, 1u);
  EXPECT_EQ(HoldersOf("stray/0123456789abcdef/manifest.mpd"), 0u);
  EXPECT_EQ(HoldersOf("kept/0123456789abcdef/manifest.mpd"), 2u);
  EXPECT_EQ(HoldersOf("kept/0123456789abcdef.source/source"), 2u);
  EXPECT_THAT(records_.TombstoneFolders(), IsEmpty());  // every node dropped it
}

TEST_F(ContentJanitorTest, NothingIsCollectedWithinTheGracePeriod) {
  PutEverywhere("stray/0123456789abcdef/a");
  auto janitor = MakeJanitor(&records_, /*grace_ms=*/60'000);
  ASSERT_TRUE(janitor->CollectGarbage().ok());
  now_ms_ += 59'000;
  EXPECT_EQ(janitor->CollectGarbage()->deleted, 0u);
  now_ms_ += 1'000;
  EXPECT_EQ(janitor->CollectGarbage()->deleted, 1u);
  EXPECT_EQ(HoldersOf("stray/0123456789abcdef/a"), 0u);
}

TEST_F(ContentJanitorTest, ADeleteThatMissedADownNodeKeepsItsTombstoneUntilNoNodeIsLeft) {
  PutEverywhere("gone/0123456789abcdef/a");
  const std::string dead = cluster_.DeadAddress();
  {
    std::lock_guard lock(mutex_);
    nodes_.push_back(dead);
  }
  auto janitor = MakeJanitor(&records_);
  ASSERT_TRUE(janitor->DeleteFolder("gone/0123456789abcdef").ok());
  EXPECT_THAT(records_.TombstoneFolders(), ElementsAre("gone/0123456789abcdef"));
  EXPECT_EQ(janitor->stats().delete_skipped_nodes, 1u);
  EXPECT_EQ(*janitor->RetryDeletes(), 1u);  // still down
  {
    std::lock_guard lock(mutex_);
    nodes_.pop_back();  // the dead node left the ring
  }
  EXPECT_EQ(*janitor->RetryDeletes(), 0u);
  EXPECT_THAT(records_.TombstoneFolders(), IsEmpty());
  EXPECT_EQ(HoldersOf("gone/0123456789abcdef/a"), 0u);
}

TEST_F(ContentJanitorTest, AFolderInUseAgainKeepsItsFilesAndLosesItsTombstoneLater) {
  // A failed video's folder is deleted, then the video is retried under the
  // same generation while a node was down.
  const std::string dead = cluster_.DeadAddress();
  {
    std::lock_guard lock(mutex_);
    nodes_.push_back(dead);
  }
  auto janitor = MakeJanitor(&records_);
  ASSERT_TRUE(janitor->DeleteFolder("again/0123456789abcdef").ok());
  {
    std::lock_guard lock(mutex_);
    nodes_.pop_back();
  }
  records_.Reference("again/0123456789abcdef");
  PutEverywhere("again/0123456789abcdef/a");
  // Young: the usual delete (files first, then the record) looks the same.
  EXPECT_EQ(*janitor->RetryDeletes(), 1u);
  EXPECT_EQ(HoldersOf("again/0123456789abcdef/a"), 2u);
  now_ms_ += 11 * 60 * 1000;
  EXPECT_EQ(*janitor->RetryDeletes(), 0u);
  EXPECT_THAT(records_.TombstoneFolders(), IsEmpty());
  EXPECT_EQ(HoldersOf("again/0123456789abcdef/a"), 2u);
}

TEST_F(ContentJanitorTest, WithoutRecordsEveryKeyIsReferencedAndNothingIsCollected) {
  auto janitor = MakeJanitor(nullptr);
  std::map<std::string, bool> cache;
  EXPECT_TRUE(*janitor->KeyIsReferenced("any/0123456789abcdef/a", cache));
  EXPECT_TRUE(absl::IsFailedPrecondition(janitor->CollectGarbage().status()));
}

TEST_F(ContentJanitorTest, RepairAsksOnlyAboutEachFolderOnce) {
  records_.Reference("a/0123456789abcdef");
  auto janitor = MakeJanitor(&records_);
  std::map<std::string, bool> cache;
  EXPECT_TRUE(*janitor->KeyIsReferenced("a/0123456789abcdef/x", cache));
  EXPECT_FALSE(*janitor->KeyIsReferenced("b/0123456789abcdef/x", cache));
  EXPECT_EQ(cache.size(), 2u);
}

}  // namespace
}  // namespace dvs::content
