#include "content/network/migration_plan.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dvs::content {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::vector<std::string> kNodes = {"n1:1", "n2:1", "n3:1", "n4:1"};

HashRing MakeRing(std::vector<std::string> nodes, int replicas = 2) {
  absl::StatusOr<HashRing> ring = HashRing::Create(std::move(nodes), 32, replicas);
  EXPECT_TRUE(ring.ok()) << ring.status();
  return *std::move(ring);
}

std::vector<std::string> Keys(int count) {
  std::vector<std::string> keys;
  for (int i = 0; i < count; ++i) keys.push_back(PlacementKey("v" + std::to_string(i), "x.m4s"));
  return keys;
}

// Every key stored exactly on its replica set in `ring`: a healthy cluster.
StoredKeys PlacedOn(const HashRing& ring, const std::vector<std::string>& keys) {
  StoredKeys stored;
  for (const std::string& key : keys) {
    std::vector<std::string> set = ring.ReplicaSetFor(key);
    stored[key] = std::set<std::string>(set.begin(), set.end());
  }
  return stored;
}

// Applies the plan to `stored`: copies, then deletions, as the admin would.
StoredKeys Apply(StoredKeys stored, const MigrationPlan& plan) {
  for (const CopyTask& copy : plan.copies) {
    EXPECT_FALSE(copy.sources.empty());
    EXPECT_TRUE(stored[copy.key].contains(copy.sources.front())) << copy.key;
    stored[copy.key].insert(copy.destination);
  }
  for (const DeleteTask& deletion : plan.deletions) stored[deletion.key].erase(deletion.node);
  return stored;
}

size_t DistinctCopiedKeys(const MigrationPlan& plan) {
  std::set<std::string> keys;
  for (const CopyTask& copy : plan.copies) keys.insert(copy.key);
  return keys.size();
}

TEST(MigrationPlanTest, AddingANodeCopiesItsShareAndLeavesEveryKeyOnItsNewSet) {
  const std::vector<std::string> keys = Keys(2000);
  HashRing old_ring = MakeRing({kNodes.begin(), kNodes.end() - 1});
  HashRing new_ring = MakeRing(kNodes);
  const StoredKeys before = PlacedOn(old_ring, keys);
  MigrationPlan plan = PlanMigration(old_ring, new_ring, before);
  ASSERT_FALSE(plan.copies.empty());
  for (const CopyTask& copy : plan.copies) EXPECT_EQ(copy.destination, "n4:1");
  for (const DeleteTask& deletion : plan.deletions) EXPECT_NE(deletion.node, "n4:1");
  EXPECT_EQ(plan.files_to_migrate, DistinctCopiedKeys(plan));
  EXPECT_EQ(plan.files_to_migrate, plan.copies.size());  // one new node: one copy per key
  EXPECT_EQ(plan.deletions.size(), plan.copies.size());  // each displaces one old holder
  EXPECT_THAT(plan.lost_keys, IsEmpty());
  EXPECT_EQ(Apply(before, plan), PlacedOn(new_ring, keys));
}

TEST(MigrationPlanTest, SourcesFollowTheOldReplicaOrder) {
  const std::vector<std::string> keys = Keys(300);
  HashRing old_ring = MakeRing({kNodes.begin(), kNodes.end() - 1});
  MigrationPlan plan = PlanMigration(old_ring, MakeRing(kNodes), PlacedOn(old_ring, keys));
  ASSERT_FALSE(plan.copies.empty());
  for (const CopyTask& copy : plan.copies) {
    EXPECT_EQ(copy.sources, old_ring.ReplicaSetFor(copy.key)) << copy.key;
  }
}

TEST(MigrationPlanTest, RemovingANodeCopiesOnlyItsKeysAndDeletesFromIt) {
  const std::vector<std::string> keys = Keys(2000);
  HashRing old_ring = MakeRing(kNodes);
  HashRing new_ring = MakeRing({"n1:1", "n3:1", "n4:1"});
  const StoredKeys before = PlacedOn(old_ring, keys);
  MigrationPlan plan = PlanMigration(old_ring, new_ring, before);
  size_t held_by_removed = 0;
  for (const auto& [key, holders] : before) held_by_removed += holders.contains("n2:1");
  EXPECT_EQ(plan.copies.size(), held_by_removed);
  EXPECT_EQ(plan.files_to_migrate, held_by_removed);
  EXPECT_EQ(plan.deletions.size(), held_by_removed);
  for (const DeleteTask& deletion : plan.deletions) EXPECT_EQ(deletion.node, "n2:1");
  for (const CopyTask& copy : plan.copies) EXPECT_NE(copy.destination, "n2:1");
  EXPECT_EQ(Apply(before, plan), PlacedOn(new_ring, keys));
}

TEST(MigrationPlanTest, RemovingADeadNodeCopiesFromSurvivingHolders) {
  const std::vector<std::string> keys = Keys(2000);
  HashRing old_ring = MakeRing(kNodes);
  HashRing new_ring = MakeRing({"n1:1", "n3:1", "n4:1"});
  // n2 is down: its List gave nothing, so it appears as no key's holder.
  StoredKeys listed = PlacedOn(old_ring, keys);
  size_t lost_a_replica = 0;
  for (auto& [key, holders] : listed) lost_a_replica += holders.erase("n2:1");
  MigrationPlan plan = PlanMigration(old_ring, new_ring, listed);
  EXPECT_EQ(plan.files_to_migrate, lost_a_replica);
  for (const CopyTask& copy : plan.copies) {
    EXPECT_THAT(copy.sources, ::testing::Not(::testing::Contains("n2:1")));
    EXPECT_NE(copy.destination, "n2:1");
  }
  EXPECT_THAT(plan.deletions, IsEmpty());
  EXPECT_THAT(plan.lost_keys, IsEmpty());
  EXPECT_EQ(Apply(listed, plan), PlacedOn(new_ring, keys));
}

TEST(MigrationPlanTest, UnderReplicatedKeysAreRepaired) {
  HashRing ring = MakeRing(kNodes, 3);
  const std::string key = PlacementKey("video1", "manifest.mpd");
  const std::vector<std::string> set = ring.ReplicaSetFor(key);
  // Only the third replica and a stray node hold it.
  std::string stray;
  for (const std::string& node : kNodes) {
    if (std::find(set.begin(), set.end(), node) == set.end()) stray = node;
  }
  StoredKeys stored = {{key, {set[2], stray}}};
  MigrationPlan plan = PlanMigration(ring, ring, stored);
  ASSERT_EQ(plan.copies.size(), 2u);
  EXPECT_EQ(plan.copies[0], (CopyTask{key, {set[2], stray}, set[0]}));
  EXPECT_EQ(plan.copies[1], (CopyTask{key, {set[2], stray}, set[1]}));
  EXPECT_THAT(plan.deletions, ElementsAre(DeleteTask{key, stray}));
  EXPECT_EQ(plan.files_to_migrate, 1u);
}

TEST(MigrationPlanTest, AKeyWithNoHolderIsReportedLost) {
  HashRing ring = MakeRing(kNodes);
  const std::string lost = PlacementKey("video1", "chunk-0-00001.m4s");
  const std::string kept = PlacementKey("video1", "manifest.mpd");
  std::vector<std::string> kept_set = ring.ReplicaSetFor(kept);
  StoredKeys stored = {{lost, {}}, {kept, {kept_set.begin(), kept_set.end()}}};
  MigrationPlan plan = PlanMigration(ring, ring, stored);
  EXPECT_THAT(plan.lost_keys, ElementsAre(lost));
  EXPECT_THAT(plan.copies, IsEmpty());
  EXPECT_THAT(plan.deletions, IsEmpty());
  EXPECT_EQ(plan.files_to_migrate, 0u);
}

TEST(MigrationPlanTest, AnUnchangedHealthyRingNeedsNothing) {
  HashRing ring = MakeRing(kNodes);
  MigrationPlan plan = PlanMigration(ring, ring, PlacedOn(ring, Keys(500)));
  EXPECT_THAT(plan.copies, IsEmpty());
  EXPECT_THAT(plan.deletions, IsEmpty());
  EXPECT_EQ(plan.files_to_migrate, 0u);
}

TEST(MigrationPlanTest, AnEmptyNewRingDeletesNothing) {
  HashRing ring = MakeRing(kNodes);
  MigrationPlan plan = PlanMigration(ring, MakeRing({}), PlacedOn(ring, Keys(50)));
  EXPECT_THAT(plan.deletions, IsEmpty());
  EXPECT_THAT(plan.copies, IsEmpty());
}

}  // namespace
}  // namespace dvs::content
