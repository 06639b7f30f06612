// The network content service's data path against real storage servers in
// this process: replication, placement, ranges, failover, read repair.
#include "content/network/network_content_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "common/sha256.h"
#include "content/network/network_test_cluster.h"
#include "content/network/replicated_io.h"

namespace dvs::content {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using testing::Eventually;
using testing::ExpectedHoldings;
using testing::FastOptions;
using ::testing::HasSubstr;
using testing::MemoryRingStateStore;
using testing::ReadAll;
using testing::TestBytes;
using testing::TestCluster;

// A node killed mid-call surfaces as UNKNOWN "Stream removed" from gRPC's
// core: that marks the node down, like UNAVAILABLE; an answer does not.
TEST(NodePoolTest, ABrokenCallMarksTheNodeDownAndAnAnswerDoesNot) {
  NodePool pool(
      storage::StorageClientOptions(), [] { return int64_t{1000}; }, std::chrono::seconds(5));
  pool.Report("killed:1", absl::UnknownError("Stream removed"));
  pool.Report("gone:1", absl::UnavailableError("Connection refused"));
  pool.Report("slow:1", absl::DeadlineExceededError("Deadline Exceeded"));
  pool.Report("answered:1", absl::NotFoundError("no blob"));
  EXPECT_TRUE(pool.IsDown("killed:1"));
  EXPECT_TRUE(pool.IsDown("gone:1"));
  EXPECT_TRUE(pool.IsDown("slow:1"));
  EXPECT_FALSE(pool.IsDown("answered:1"));
  pool.Report("killed:1", absl::OkStatus());
  EXPECT_FALSE(pool.IsDown("killed:1"));
}

TEST(WriteQuorumTest, DuringAChangeNeedsAMajorityOfBothReplicaSets) {
  auto seeded = RingState::Seed({"a:1", "b:1", "c:1"}, 8, 2);
  ASSERT_TRUE(seeded.ok());
  auto adding = seeded->BeginAdd("d:1", 0);
  ASSERT_TRUE(adding.ok());
  auto placement = RingPlacement::Create(*adding);
  ASSERT_TRUE(placement.ok());
  // A key whose replica set changes: the old and new sets then differ.
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    std::string candidate = PlacementKey("v", "f" + std::to_string(i));
    if (placement->current().ReplicaSetFor(candidate) !=
        placement->target().ReplicaSetFor(candidate)) {
      key = candidate;
    }
  }
  std::vector<std::string> old_set = placement->current().ReplicaSetFor(key);
  std::vector<std::string> new_set = placement->target().ReplicaSetFor(key);
  std::set<std::string> both(old_set.begin(), old_set.end());
  both.insert(new_set.begin(), new_set.end());
  EXPECT_TRUE(WriteQuorumMet(*placement, key, both));
  EXPECT_FALSE(WriteQuorumMet(*placement, key, {old_set.begin(), old_set.end()}));
  EXPECT_FALSE(WriteQuorumMet(*placement, key, {new_set.begin(), new_set.end()}));
  // Outside a change only the committed set counts.
  auto steady = RingPlacement::Create(*seeded);
  EXPECT_TRUE(WriteQuorumMet(*steady, key, {old_set.begin(), old_set.end()}));
  EXPECT_FALSE(WriteQuorumMet(*steady, key, {old_set.front()}));
}

class NetworkContentServiceTest : public ::testing::Test {
 protected:
  void Open(int nodes, int replicas) {
    nodes_ = cluster_.StartNodes(nodes);
    auto service = NetworkContentService::Open(FastOptions(nodes_, replicas), store_);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
  }
  // The node that reads try first for the key.
  std::string FirstReplica(std::string_view video_id, std::string_view filename) {
    auto placement = RingPlacement::Create(service_->ring_state());
    return placement->ReadOrderFor(PlacementKey(video_id, filename)).front();
  }
  void FlipByte(const fs::path& path, std::streamoff offset) {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(file.is_open()) << path;
    file.seekg(offset);
    char c = 0;
    file.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    file.seekp(offset);
    file.write(&c, 1);
  }

  TestCluster cluster_;
  MemoryRingStateStore store_;
  std::vector<std::string> nodes_;
  std::unique_ptr<NetworkContentService> service_;
};

TEST_F(NetworkContentServiceTest, WriteThenReadRoundTripsOnThreeReplicas) {
  Open(3, 3);
  std::string small = TestBytes(1000, 1);
  std::string large = TestBytes(2 * storage::kBlockSize + 12345, 2);  // crosses blocks
  ASSERT_TRUE(service_->Write("v1", "manifest.mpd", small).ok());
  fs::path source = fs::path(::testing::TempDir()) / ("net-source-" + std::to_string(::getpid()));
  std::ofstream(source, std::ios::binary) << large;
  ASSERT_TRUE(service_->WriteFile("v1", "chunk-1.m4s", source).ok());
  fs::remove(source);

  EXPECT_EQ(ReadAll(*service_, "v1", "manifest.mpd").value_or("?"), small);
  EXPECT_EQ(ReadAll(*service_, "v1", "chunk-1.m4s").value_or("?"), large);
  auto info = service_->Stat("v1", "chunk-1.m4s");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->size, large.size());
  EXPECT_EQ(info->sha256, common::Sha256Hex(large));
  EXPECT_THAT(service_->List("v1").value_or(std::vector<std::string>{}),
              ElementsAre("chunk-1.m4s", "manifest.mpd"));
  for (const std::string& node : nodes_) {
    EXPECT_THAT(cluster_.KeysOn(node), ElementsAre("v1/chunk-1.m4s", "v1/manifest.mpd")) << node;
  }
}

TEST_F(NetworkContentServiceTest, EachKeyLandsOnExactlyItsReplicaSet) {
  Open(3, 2);
  std::vector<std::string> keys;
  for (int i = 0; i < 30; ++i) {
    std::string name = "seg-" + std::to_string(i);
    ASSERT_TRUE(service_->Write("v", name, TestBytes(100 + i, i)).ok());
    keys.push_back(PlacementKey("v", name));
  }
  auto expected = ExpectedHoldings(service_->ring_state(), keys);
  for (const std::string& node : nodes_) {
    EXPECT_EQ(cluster_.KeysOn(node), expected[node]) << node;
    EXPECT_LT(expected[node].size(), keys.size()) << "R=2 of 3 nodes: no node holds everything";
  }
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(ReadAll(*service_, "v", "seg-" + std::to_string(i)).value_or("?"),
              TestBytes(100 + i, i));
  }
}

TEST_F(NetworkContentServiceTest, RangedReadsReturnJustTheRange) {
  Open(3, 3);
  std::string bytes = TestBytes(storage::kBlockSize + 5000, 3);
  ASSERT_TRUE(service_->Write("v", "f", bytes).ok());
  EXPECT_EQ(ReadAll(*service_, "v", "f", ByteRange{10, 100}).value_or("?"), bytes.substr(10, 100));
  EXPECT_EQ(ReadAll(*service_, "v", "f", ByteRange{storage::kBlockSize - 7, 20}).value_or("?"),
            bytes.substr(storage::kBlockSize - 7, 20));
  EXPECT_EQ(ReadAll(*service_, "v", "f", ByteRange{bytes.size() - 3, 3}).value_or("?"),
            bytes.substr(bytes.size() - 3));
  EXPECT_EQ(ReadAll(*service_, "v", "f", ByteRange{50, 0}).value_or("?"), "");
  EXPECT_TRUE(absl::IsOutOfRange(service_->Read("v", "f", ByteRange{bytes.size(), 1}).status()));
  EXPECT_TRUE(
      absl::IsOutOfRange(service_->Read("v", "f", ByteRange{bytes.size() + 1, 0}).status()));
  EXPECT_TRUE(absl::IsNotFound(service_->Read("v", "missing", std::nullopt).status()));
  EXPECT_TRUE(absl::IsNotFound(service_->Stat("v", "missing").status()));
}

TEST_F(NetworkContentServiceTest, BadNamesAreRefusedEverywhere) {
  Open(1, 1);
  for (std::string_view bad : {"", "..", "a/b/c", "a/", "/b", "a//b", ".hidden", "a..b", "a/.."}) {
    EXPECT_TRUE(absl::IsInvalidArgument(service_->Write(bad, "f", "x"))) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(service_->Write("v", bad, "x"))) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(service_->Read("v", bad, std::nullopt).status())) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(service_->Stat(bad, "f").status())) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(service_->List(bad).status())) << bad;
    EXPECT_TRUE(absl::IsInvalidArgument(service_->Delete(bad))) << bad;
  }
}

TEST_F(NetworkContentServiceTest, StoppedNodeLeavesReadsAndWritesWorking) {
  Open(3, 3);
  ASSERT_TRUE(service_->Write("v", "before", "old bytes").ok());
  // On a loaded machine a first connection may time out and the write go
  // to a majority only: count from here.
  const uint64_t failures_before = service_->stats().write_replica_failures;
  cluster_.StopNode(nodes_[0]);
  EXPECT_EQ(ReadAll(*service_, "v", "before").value_or("?"), "old bytes");
  ASSERT_TRUE(service_->Write("v", "after", "new bytes").ok());
  EXPECT_EQ(ReadAll(*service_, "v", "after").value_or("?"), "new bytes");
  EXPECT_EQ(service_->stats().write_replica_failures - failures_before, 1u);
  EXPECT_THAT(service_->List("v").value_or(std::vector<std::string>{}),
              ElementsAre("after", "before"));
  EXPECT_TRUE(service_->CheckHealth().ok());
  EXPECT_TRUE(service_->Delete("v").ok());
  EXPECT_EQ(service_->stats().delete_skipped_nodes, 1u);
  EXPECT_TRUE(absl::IsNotFound(service_->Stat("v", "after").status()));
}

TEST_F(NetworkContentServiceTest, WriteWithoutMajorityIsUnavailable) {
  Open(3, 3);
  cluster_.StopNode(nodes_[0]);
  cluster_.StopNode(nodes_[1]);
  absl::Status written = service_->Write("v", "f", "bytes");
  EXPECT_TRUE(absl::IsUnavailable(written)) << written;
  EXPECT_THAT(std::string(written.message()), HasSubstr(nodes_[0]));
  EXPECT_TRUE(absl::IsUnavailable(service_->CheckHealth()));
  // A file may live only on the two silent nodes, so a list cannot be trusted.
  EXPECT_TRUE(absl::IsUnavailable(service_->List("v").status()));
}

TEST_F(NetworkContentServiceTest, DeletedVideoIsGoneFromEveryNode) {
  Open(3, 2);
  ASSERT_TRUE(service_->Write("gone", "a", "1").ok());
  ASSERT_TRUE(service_->Write("gone", "b", "2").ok());
  ASSERT_TRUE(service_->Write("kept", "a", "3").ok());
  ASSERT_TRUE(service_->Delete("gone").ok());
  EXPECT_TRUE(service_->List("gone").value_or(std::vector<std::string>{"?"}).empty());
  EXPECT_THAT(service_->List("kept").value_or(std::vector<std::string>{}), ElementsAre("a"));
  EXPECT_TRUE(service_->Delete("never-there").ok());
}

TEST_F(NetworkContentServiceTest, TwoLevelFoldersRoundTripListAndDeleteApart) {
  Open(3, 3);
  std::string large = TestBytes(storage::kBlockSize + 777, 4);
  fs::path source = fs::path(::testing::TempDir()) / ("net-gen-" + std::to_string(::getpid()));
  std::ofstream(source, std::ios::binary) << large;
  ASSERT_TRUE(service_->WriteFile("v/g1", "chunk-1.m4s", source).ok());
  fs::remove(source);
  ASSERT_TRUE(service_->Write("v/g1", "manifest.mpd", "g1 manifest").ok());
  ASSERT_TRUE(service_->Write("v/g2", "manifest.mpd", "g2 manifest").ok());
  ASSERT_TRUE(service_->Write("v", "manifest.mpd", "legacy manifest").ok());

  EXPECT_EQ(ReadAll(*service_, "v/g1", "chunk-1.m4s").value_or("?"), large);
  EXPECT_EQ(ReadAll(*service_, "v/g1", "chunk-1.m4s", ByteRange{10, 5}).value_or("?"),
            large.substr(10, 5));
  EXPECT_EQ(service_->Stat("v/g1", "chunk-1.m4s").value().sha256, common::Sha256Hex(large));
  EXPECT_EQ(ReadAll(*service_, "v/g2", "manifest.mpd").value_or("?"), "g2 manifest");
  EXPECT_THAT(service_->List("v/g1").value_or(std::vector<std::string>{}),
              ElementsAre("chunk-1.m4s", "manifest.mpd"));
  EXPECT_THAT(service_->List("v").value_or(std::vector<std::string>{}),
              ElementsAre("manifest.mpd"));
  EXPECT_TRUE(fs::is_regular_file(cluster_.BlobPath(nodes_[0], "v/g1", "chunk-1.m4s")));

  ASSERT_TRUE(service_->Delete("v/g1").ok());
  EXPECT_TRUE(service_->List("v/g1").value_or(std::vector<std::string>{"?"}).empty());
  EXPECT_TRUE(absl::IsNotFound(service_->Stat("v/g1", "manifest.mpd").status()));
  EXPECT_EQ(ReadAll(*service_, "v/g2", "manifest.mpd").value_or("?"), "g2 manifest");
  EXPECT_EQ(ReadAll(*service_, "v", "manifest.mpd").value_or("?"), "legacy manifest");
  for (const std::string& node : nodes_) {
    EXPECT_THAT(cluster_.KeysOn(node), ElementsAre("v/g2/manifest.mpd", "v/manifest.mpd")) << node;
  }
}

TEST_F(NetworkContentServiceTest, CorruptReplicaIsServedFromAnotherAndRepaired) {
  Open(3, 3);
  std::string bytes = TestBytes(50000, 4);
  ASSERT_TRUE(service_->Write("v", "seg", bytes).ok());
  std::string bad = FirstReplica("v", "seg");
  FlipByte(cluster_.BlobPath(bad, "v", "seg"), 1234);
  ASSERT_TRUE(absl::IsDataLoss(cluster_.Client(bad).GetBytes("v/seg").status()));

  EXPECT_EQ(ReadAll(*service_, "v", "seg").value_or("?"), bytes);
  EXPECT_TRUE(
      Eventually([&] { return cluster_.Client(bad).GetBytes("v/seg").value_or("") == bytes; }));
  service_->WaitForRepairs();
  EXPECT_EQ(service_->stats().read_repairs, 1u);
}

// Other bytes under the same key (a replica that missed an overwrite, or
// bytes someone put there) are passed over for the recorded ones, and the
// replica is repaired from a copy that has them.
TEST_F(NetworkContentServiceTest, ReplacedReplicaIsPassedOverAndRepaired) {
  Open(3, 3);
  const std::string recorded = "recorded manifest";
  ASSERT_TRUE(service_->Write("v", "manifest.mpd", recorded).ok());
  std::string bad = FirstReplica("v", "manifest.mpd");
  ASSERT_TRUE(cluster_.Client(bad).Put("v/manifest.mpd", "planted manifest").ok());
  const std::string sha256 = common::Sha256Hex(recorded);

  auto reader = service_->Read("v", "manifest.mpd", std::nullopt, sha256);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::string served(reader.value()->size(), '\0');
  ASSERT_EQ(reader.value()->Read(served.data(), served.size()).value_or(0), served.size());
  EXPECT_EQ(served, recorded);
  EXPECT_EQ(service_->Stat("v", "manifest.mpd", sha256).value().sha256, sha256);
  EXPECT_TRUE(Eventually(
      [&] { return cluster_.Client(bad).GetBytes("v/manifest.mpd").value_or("") == recorded; }));
}

// When no replica holds the recorded bytes, the read fails: the other bytes
// are never content, whole or in part.
TEST_F(NetworkContentServiceTest, NoReplicaWithTheRecordedBytesIsAnErrorNotContent) {
  Open(3, 3);
  const std::string recorded = "recorded manifest";
  ASSERT_TRUE(service_->Write("v", "manifest.mpd", recorded).ok());
  for (const std::string& node : nodes_) {
    ASSERT_TRUE(cluster_.Client(node).Put("v/manifest.mpd", "planted manifest!").ok());
  }
  const std::string sha256 = common::Sha256Hex(recorded);
  absl::Status read = service_->Read("v", "manifest.mpd", std::nullopt, sha256).status();
  EXPECT_TRUE(absl::IsDataLoss(read)) << read;
  EXPECT_THAT(std::string(read.message()), HasSubstr("not the recorded content"));
  absl::Status range = service_->Read("v", "manifest.mpd", ByteRange{0, 4}, sha256).status();
  EXPECT_TRUE(absl::IsDataLoss(range)) << range;
  absl::Status stat = service_->Stat("v", "manifest.mpd", sha256).status();
  EXPECT_TRUE(absl::IsDataLoss(stat)) << stat;
}

TEST_F(NetworkContentServiceTest, DamageInALaterBlockFailsOverMidStream) {
  Open(3, 3);
  std::string bytes = TestBytes(3 * storage::kBlockSize, 5);
  ASSERT_TRUE(service_->Write("v", "big", bytes).ok());
  std::string bad = FirstReplica("v", "big");
  FlipByte(cluster_.BlobPath(bad, "v", "big"), 2 * storage::kBlockSize + 10);

  EXPECT_EQ(ReadAll(*service_, "v", "big").value_or("?"), bytes);
  EXPECT_TRUE(
      Eventually([&] { return cluster_.Client(bad).GetBytes("v/big").value_or("") == bytes; }));
}

TEST_F(NetworkContentServiceTest, MissingReplicaIsRepairedOnRead) {
  Open(3, 3);
  ASSERT_TRUE(service_->Write("v", "seg", "some bytes").ok());
  std::string bad = FirstReplica("v", "seg");
  ASSERT_EQ(cluster_.Client(bad).Delete("v/seg").value_or(0), 1u);

  EXPECT_EQ(ReadAll(*service_, "v", "seg").value_or("?"), "some bytes");
  EXPECT_TRUE(Eventually([&] { return cluster_.Client(bad).Stat("v/seg").ok(); }));
}

TEST_F(NetworkContentServiceTest, FileMissingEverywhereIsNotFoundNotUnavailable) {
  Open(3, 3);
  cluster_.StopNode(nodes_[2]);
  absl::Status status = service_->Read("v", "nothing", std::nullopt).status();
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
}

TEST_F(NetworkContentServiceTest, OpenUsesTheStoredRingAndIgnoresSeedNodes) {
  Open(3, 3);
  auto other = NetworkContentService::Open(FastOptions({"127.0.0.1:1"}, 1), store_);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ((*other)->ring_state().nodes, nodes_);
  EXPECT_EQ((*other)->ring_state().replicas, 3);
}

// Open resumes the change; its new node does not answer, so it is aborted.
TEST_F(NetworkContentServiceTest, OpenResumesATransitionLeftByACrash) {
  nodes_ = cluster_.StartNodes(2);
  auto seeded = RingState::Seed(nodes_, 32, 2);
  ASSERT_TRUE(seeded.ok());
  auto crashed = seeded->BeginAdd("127.0.0.1:9", 5);
  ASSERT_TRUE(crashed.ok());
  ASSERT_TRUE(store_.Store(crashed->ToJson()).ok());

  auto service = NetworkContentService::Open(FastOptions({}), store_);
  ASSERT_TRUE(service.ok()) << service.status();
  RingState aborted = *seeded;
  aborted.version = seeded->version + 2;  // begun, then aborted
  EXPECT_TRUE(testing::Eventually([&] { return !(*service)->ring_state().in_transition(); },
                                  std::chrono::seconds(60)));
  EXPECT_EQ((*service)->ring_state(), aborted);
  EXPECT_EQ(store_.state(), aborted);
}

TEST_F(NetworkContentServiceTest, OpenWithNothingStoredAndNoSeedsFails) {
  auto service = NetworkContentService::Open(FastOptions({}), store_);
  EXPECT_TRUE(absl::IsInvalidArgument(service.status())) << service.status();
}

}  // namespace
}  // namespace dvs::content
