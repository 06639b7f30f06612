// NetworkContentService as ClusterAdmin against real storage servers in this
// process: adding and removing nodes with migration, refusals, aborts,
// reads and writes during a change, status and repair.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "content/network/network_content_service.h"
#include "content/network/network_test_cluster.h"

namespace dvs::content {
namespace {

using ::testing::Contains;
using testing::ExpectedHoldings;
using testing::FastOptions;
using ::testing::Field;
using ::testing::HasSubstr;
using testing::MemoryRingStateStore;
using ::testing::Not;
using testing::ReadAll;
using testing::TestBytes;
using testing::TestCluster;

constexpr int kFiles = 40;

std::string FileName(int i) { return "seg-" + std::to_string(i); }

class NetworkClusterAdminTest : public ::testing::Test {
 protected:
  void Open(int nodes, int replicas) {
    nodes_ = cluster_.StartNodes(nodes);
    auto service = NetworkContentService::Open(FastOptions(nodes_, replicas), store_);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
  }
  void WriteFiles(std::string_view video_id = "v", int count = kFiles) {
    for (int i = 0; i < count; ++i) {
      ASSERT_TRUE(service_->Write(video_id, FileName(i), TestBytes(200 + i, i)).ok()) << i;
      keys_.push_back(PlacementKey(video_id, FileName(i)));
    }
  }
  // Every node holds exactly the keys its committed replica sets give it.
  void ExpectExactPlacement() {
    RingState state = service_->ring_state();
    std::vector<std::string> keys = keys_;
    std::sort(keys.begin(), keys.end());
    for (const auto& [node, expected] : ExpectedHoldings(state, keys)) {
      EXPECT_EQ(cluster_.KeysOn(node), expected) << node;
    }
  }
  void ExpectAllReadable() {
    for (int i = 0; i < kFiles; ++i) {
      EXPECT_EQ(ReadAll(*service_, "v", FileName(i)).value_or("?"), TestBytes(200 + i, i)) << i;
    }
  }

  TestCluster cluster_;
  MemoryRingStateStore store_;
  std::vector<std::string> nodes_;
  std::vector<std::string> keys_;
  std::unique_ptr<NetworkContentService> service_;
};

TEST_F(NetworkClusterAdminTest, AddNodeMigratesItsShareAndCommits) {
  Open(3, 2);
  WriteFiles();
  std::string added = cluster_.StartNode();
  std::vector<std::string> phases;
  auto migrated = service_->AddNode(added, [&](const ClusterProgress& p) {
    if (phases.empty() || phases.back() != p.phase) phases.push_back(p.phase);
  });
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  EXPECT_GT(*migrated, 0u);
  EXPECT_LT(*migrated, static_cast<uint64_t>(kFiles));
  EXPECT_EQ(service_->ring_state().epoch, 2u);
  EXPECT_FALSE(service_->ring_state().in_transition());
  EXPECT_EQ(service_->ListNodes().value_or(std::vector<std::string>{}).size(), 4u);
  EXPECT_EQ(store_.state(), service_->ring_state());
  EXPECT_THAT(phases, ::testing::ElementsAre("planning", "copying", "committing", "cleaning up"));
  EXPECT_FALSE(cluster_.KeysOn(added).empty());
  ExpectExactPlacement();
  ExpectAllReadable();
}

TEST_F(NetworkClusterAdminTest, RemoveNodeMovesItsKeysAway) {
  Open(4, 2);
  WriteFiles();
  std::string removed = nodes_[1];
  auto migrated = service_->RemoveNode(removed, nullptr);
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  EXPECT_GT(*migrated, 0u);
  EXPECT_EQ(service_->ring_state().epoch, 2u);
  EXPECT_THAT(service_->ListNodes().value_or(std::vector<std::string>{}),
              ::testing::Not(Contains(removed)));
  EXPECT_TRUE(cluster_.KeysOn(removed).empty());
  ExpectExactPlacement();
  ExpectAllReadable();
}

TEST_F(NetworkClusterAdminTest, RemovingADeadNodeReReplicatesFromSurvivors) {
  Open(4, 2);
  WriteFiles();
  cluster_.StopNode(nodes_[2]);
  auto migrated = service_->RemoveNode(nodes_[2], nullptr);
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  EXPECT_GT(*migrated, 0u);
  ExpectExactPlacement();
  ExpectAllReadable();
}

TEST_F(NetworkClusterAdminTest, RefusesChangesThatCannotBeMade) {
  Open(1, 1);
  RingState before = service_->ring_state();
  std::string dead = cluster_.DeadAddress();
  auto unreachable = service_->AddNode(dead, nullptr);
  EXPECT_TRUE(absl::IsUnavailable(unreachable.status())) << unreachable.status();
  EXPECT_THAT(std::string(unreachable.status().message()),
              HasSubstr("storage node " + dead + " does not answer"));
  EXPECT_TRUE(absl::IsAlreadyExists(service_->AddNode(nodes_[0], nullptr).status()));
  EXPECT_TRUE(absl::IsNotFound(service_->RemoveNode("127.0.0.1:1", nullptr).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(service_->RemoveNode(nodes_[0], nullptr).status()));
  for (std::string_view bad : {"", "host", "host:", ":80", "host:0", "host:99999", "a b:1"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(service_->AddNode(bad, nullptr).status())) << bad;
  }
  EXPECT_EQ(service_->ring_state(), before);
  EXPECT_EQ(store_.state(), before);
}

TEST_F(NetworkClusterAdminTest, SecondChangeWhileOneRunsIsRefused) {
  Open(2, 2);
  WriteFiles("v", 5);
  std::string added = cluster_.StartNode();
  absl::Status concurrent;
  auto migrated = service_->AddNode(added, [&](const ClusterProgress& p) {
    if (p.phase == "planning") concurrent = service_->RemoveNode(nodes_[0], nullptr).status();
  });
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  EXPECT_TRUE(absl::IsFailedPrecondition(concurrent)) << concurrent;
  EXPECT_THAT(std::string(concurrent.message()), HasSubstr("add " + added));
}

TEST_F(NetworkClusterAdminTest, FailedCopyAbortsAndKeepsTheOldRing) {
  Open(3, 2);
  WriteFiles();
  RingState before = service_->ring_state();
  std::string added = cluster_.StartNode();
  // The destination answers the admission check, then dies before copying.
  auto migrated = service_->AddNode(added, [&](const ClusterProgress& p) {
    if (p.phase == "planning") cluster_.StopNode(added);
  });
  EXPECT_TRUE(absl::IsAborted(migrated.status())) << migrated.status();
  EXPECT_THAT(std::string(migrated.status().message()), HasSubstr(added));
  RingState aborted = before;
  aborted.version = before.version + 2;  // begun, then aborted
  EXPECT_EQ(service_->ring_state(), aborted);
  EXPECT_EQ(store_.state(), aborted);
  EXPECT_EQ(service_->stats().ring_changes_aborted, 1u);
  ExpectExactPlacement();
  ExpectAllReadable();
  ASSERT_TRUE(service_->Write("v", "after-abort", "bytes").ok());
}

TEST_F(NetworkClusterAdminTest, ReadsAndWritesDuringAddNodeNeverFail) {
  Open(3, 2);
  WriteFiles();
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, failures{0};
  std::thread reader([&] {
    for (int i = 0; !done.load(); i = (i + 1) % kFiles) {
      auto bytes = ReadAll(*service_, "v", FileName(i));
      ++reads;
      if (!bytes.ok() || *bytes != TestBytes(200 + i, i)) ++failures;
    }
  });
  std::string added = cluster_.StartNode();
  int written_during = 0;
  auto migrated = service_->AddNode(added, [&](const ClusterProgress& p) {
    // Writes land mid-change: after the listing, so only the union write set
    // puts them where the new ring wants them.
    if (p.phase == "copying" && p.done == 0) {
      for (; written_during < 5; ++written_during) {
        std::string name = "during-" + std::to_string(written_during);
        EXPECT_TRUE(service_->Write("v", name, name).ok());
        keys_.push_back(PlacementKey("v", name));
      }
    }
  });
  done = true;
  reader.join();
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  EXPECT_EQ(written_during, 5);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  // Keys written mid-change already sit on their whole new replica set
  // (plus, perhaps, a stray old-ring copy that Repair removes).
  auto committed = RingPlacement::Create(service_->ring_state());
  for (int i = 0; i < written_during; ++i) {
    std::string key = PlacementKey("v", "during-" + std::to_string(i));
    for (const std::string& node : committed->current().ReplicaSetFor(key)) {
      EXPECT_TRUE(cluster_.Client(node).Stat(key).ok()) << key << " on " << node;
    }
  }
  ASSERT_TRUE(service_->Repair(nullptr).ok());
  ExpectExactPlacement();
}

TEST_F(NetworkClusterAdminTest, RepairRestoresAMissingReplicaAndDeletesAStray) {
  Open(3, 2);
  WriteFiles();
  auto placement = RingPlacement::Create(service_->ring_state());
  std::string key = PlacementKey("v", FileName(7));
  std::vector<std::string> owners = placement->current().ReplicaSetFor(key);
  std::string outsider;
  for (const std::string& node : nodes_) {
    if (std::find(owners.begin(), owners.end(), node) == owners.end()) outsider = node;
  }
  ASSERT_EQ(cluster_.Client(owners[1]).Delete(key).value_or(0), 1u);
  ASSERT_TRUE(cluster_.Client(outsider).Put(key, TestBytes(207, 7)).ok());

  std::vector<ClusterProgress> progress;
  auto report = service_->Repair([&](const ClusterProgress& p) { progress.push_back(p); });
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->keys_checked, static_cast<uint64_t>(kFiles));
  EXPECT_EQ(report->copies_made, 1u);
  EXPECT_EQ(report->copies_deleted, 1u);
  EXPECT_TRUE(report->lost_keys.empty());
  EXPECT_THAT(progress, Contains(Field(&ClusterProgress::phase, "copying")));
  // The one copy's bytes are reported, and stay reported in later phases.
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().bytes_copied, cluster_.Client(owners[0]).Stat(key)->size);
  ExpectExactPlacement();

  auto again = service_->Repair(nullptr);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->copies_made + again->copies_deleted, 0u);
}

// Copies are checked where they land, not where they are read: a source whose
// bytes rotted is found by the destination, and the next holder serves.
TEST_F(NetworkClusterAdminTest, RepairCopiesPastADamagedSource) {
  Open(3, 3);
  WriteFiles();
  std::string key = PlacementKey("v", FileName(3));
  auto placement = RingPlacement::Create(service_->ring_state());
  std::vector<std::string> owners = placement->current().ReplicaSetFor(key);
  ASSERT_EQ(cluster_.Client(owners[2]).Delete(key).value_or(0), 1u);
  {
    // The first source tried (the first owner) has a flipped byte.
    std::fstream file(cluster_.BlobPath(owners[0], "v", FileName(3)),
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);
    file.put(static_cast<char>(TestBytes(203, 3)[100] ^ 0x01));
  }
  auto report = service_->Repair(nullptr);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->copies_made, 1u);
  EXPECT_EQ(cluster_.Client(owners[2]).GetBytes(key).value_or("?"), TestBytes(203, 3));
}

TEST_F(NetworkClusterAdminTest, StatusReportsEveryNodesHealth) {
  Open(3, 2);
  WriteFiles();
  cluster_.StopNode(nodes_[1]);
  auto status = service_->Status();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->ring, service_->ring_state());
  ASSERT_EQ(status->nodes.size(), 3u);
  for (const NodeStatus& node : status->nodes) {
    EXPECT_EQ(node.healthy, node.address != nodes_[1]) << node.address;
    if (node.healthy) {
      EXPECT_FALSE(node.node_id.empty());
      EXPECT_GT(node.blob_count, 0u);
    } else {
      EXPECT_FALSE(node.error.empty());
    }
  }
}

// Two web servers on one store and one cluster, as with etcd: neither is
// told of the other's change here (no watch), which is the worst case of a
// late notice.
class SharedStoreTest : public NetworkClusterAdminTest {
 protected:
  NetworkContentOptions SharedOptions() {
    NetworkContentOptions options = FastOptions(nodes_, 2);
    options.shared_store = true;
    options.change_lock = lock_;
    options.takeover_every = takeover_every_;
    return options;
  }
  void OpenBoth() {
    nodes_ = cluster_.StartNodes(3);
    for (auto* service : {&service_, &other_}) {
      auto opened = NetworkContentService::Open(SharedOptions(), store_);
      ASSERT_TRUE(opened.ok()) << opened.status();
      *service = std::move(*opened);
    }
  }

  std::shared_ptr<InProcessRingChangeLock> lock_ = std::make_shared<InProcessRingChangeLock>();
  std::chrono::milliseconds takeover_every_{std::chrono::seconds(2)};
  std::unique_ptr<NetworkContentService> other_;
};

TEST_F(SharedStoreTest, AWriteUnderAStaleRingIsWrittenAgainUnderTheStoredOne) {
  OpenBoth();
  WriteFiles();
  ASSERT_TRUE(service_->AddNode(cluster_.StartNode(), nullptr).ok());
  EXPECT_EQ(other_->ring_state().nodes.size(), 3u);  // has not heard yet
  // Enough files that some belong on the new node (each does with p = 1/2).
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(other_->Write("late", FileName(i), TestBytes(100, i)).ok());
    keys_.push_back(PlacementKey("late", FileName(i)));
  }
  EXPECT_EQ(other_->ring_state(), service_->ring_state());  // caught up while writing
  // Every late file is already on its new owners: repair only removes the
  // strays of the first, stale write.
  auto repaired = service_->Repair(nullptr);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_EQ(repaired->copies_made, 0u);
  ExpectExactPlacement();
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(ReadAll(*service_, "late", FileName(i)).value_or("?"), TestBytes(100, i));
  }
}

TEST_F(SharedStoreTest, AnOlderStateHeardLateNeverUndoesANewerOne) {
  OpenBoth();
  RingState seeded = other_->ring_state();
  ASSERT_TRUE(service_->AddNode(cluster_.StartNode(), nullptr).ok());
  RingState committed = service_->ring_state();
  ASSERT_TRUE(other_->AdoptState(committed).ok());
  EXPECT_EQ(other_->ring_state(), committed);
  ASSERT_TRUE(other_->AdoptState(seeded).ok());  // a notice delivered out of order
  EXPECT_EQ(other_->ring_state(), committed);
}

TEST_F(SharedStoreTest, OpenFollowsATransitionAnotherServerIsRunning) {
  nodes_ = cluster_.StartNodes(3);
  RingState running = RingState::Seed(nodes_, 32, 2)->BeginAdd("127.0.0.1:9", 5).value();
  ASSERT_TRUE(store_.Store(running.ToJson()).ok());
  {
    auto held = lock_->TryAcquire("add 127.0.0.1:9");  // the other server's change
    ASSERT_TRUE(held.ok());
    auto opened = NetworkContentService::Open(SharedOptions(), store_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ((*opened)->ring_state(), running);  // followed, not aborted
    EXPECT_EQ(store_.state(), running);
  }
  // Its owner has gone (the lock is free): this server takes it over at
  // once; its node never answers, so the resumed change aborts.
  auto opened = NetworkContentService::Open(SharedOptions(), store_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(testing::Eventually([&] { return !(*opened)->ring_state().in_transition(); },
                                  std::chrono::seconds(60)));
  std::string added = cluster_.StartNode();
  ASSERT_TRUE((*opened)->AddNode(added, nullptr).ok());
  EXPECT_THAT((*opened)->ring_state().nodes, Contains(added));
}

TEST_F(SharedStoreTest, TheNextChangeSettlesATransitionWhoseOwnerDiedFirst) {
  takeover_every_ = std::chrono::milliseconds(0);  // the next change, not a takeover thread
  OpenBoth();
  RingState running = service_->ring_state().BeginAdd("127.0.0.1:9", 5).value();
  ASSERT_TRUE(store_.Store(running.ToJson()).ok());  // stored, then its server died
  ASSERT_TRUE(other_->AdoptState(running).ok());
  std::string added = cluster_.StartNode();
  auto migrated = other_->AddNode(added, nullptr);
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  EXPECT_THAT(other_->ring_state().nodes, Contains(added));
  EXPECT_THAT(other_->ring_state().nodes, Not(Contains("127.0.0.1:9")));
  EXPECT_EQ(store_.state(), other_->ring_state());
}

}  // namespace
}  // namespace dvs::content
