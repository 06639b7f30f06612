#include "content/network/hash_ring.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dvs::content {
namespace {

using ::testing::ElementsAre;
using ::testing::SizeIs;

const std::vector<std::string> kReferenceNodes = {"localhost:8090", "localhost:8091",
                                                  "localhost:8092"};

// The reference's rule written out plainly, with OpenSSL's one-shot SHA256 so
// it shares no code with HashPoint: sort the nodes' hashes, take the first one
// >= the key's hash, wrap to the smallest.
uint64_t ReferenceHash(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | digest[i];
  return value;
}

std::string ReferenceOwner(const std::vector<std::string>& nodes, const std::string& key) {
  std::vector<std::pair<uint64_t, std::string>> points;
  for (const std::string& node : nodes) points.emplace_back(ReferenceHash(node), node);
  std::sort(points.begin(), points.end());
  const uint64_t key_hash = ReferenceHash(key);
  for (const auto& [hash, node] : points) {
    if (hash >= key_hash) return node;
  }
  return points.front().second;
}

HashRing MakeRing(std::vector<std::string> nodes, int vnodes, int replicas) {
  absl::StatusOr<HashRing> ring = HashRing::Create(std::move(nodes), vnodes, replicas);
  EXPECT_TRUE(ring.ok()) << ring.status();
  return *std::move(ring);
}

std::vector<std::string> NodeNames(int count) {
  std::vector<std::string> nodes;
  for (int i = 0; i < count; ++i) nodes.push_back("10.0.0." + std::to_string(i + 1) + ":8090");
  return nodes;
}

std::vector<std::string> ManyKeys(int count) {
  std::vector<std::string> keys;
  keys.reserve(count);
  for (int i = 0; i < count; ++i) {
    keys.push_back(PlacementKey("video" + std::to_string(i / 50),
                                "chunk-0-" + std::to_string(i % 50) + ".m4s"));
  }
  return keys;
}

TEST(HashPointTest, ReadsTheFirstEightDigestBytesBigEndian) {
  // SHA-256("") = e3b0c44298fc1c14 9afbf4c8...
  EXPECT_EQ(HashPoint(""), 0xe3b0c44298fc1c14ULL);
  EXPECT_EQ(HashPoint("localhost:8092"), 0x6d6e7f7d767c77d0ULL);
  EXPECT_EQ(HashPoint("video1/manifest.mpd"), ReferenceHash("video1/manifest.mpd"));
}

TEST(HashPointTest, PlacementKeyJoinsIdAndFileWithASlash) {
  EXPECT_EQ(PlacementKey("video1", "manifest.mpd"), "video1/manifest.mpd");
}

TEST(HashRingTest, OneVirtualNodeOneReplicaMatchesTheReferenceRule) {
  HashRing ring = MakeRing(kReferenceNodes, 1, 1);
  const std::vector<std::string> keys = {
      "video1/manifest.mpd", "video1/chunk-0-00001.m4s", "abc/init-0.m4s",
      "video1/master.m3u8",  "video1/poster.jpg",        "video2/manifest.mpd",
      "video2/master.m3u8",  "video3/init-0.m4s",        "x/y"};
  for (const std::string& key : keys) {
    EXPECT_EQ(ring.OwnerOf(key).value(), ReferenceOwner(kReferenceNodes, key)) << key;
    EXPECT_THAT(ring.ReplicaSetFor(key), ElementsAre(ReferenceOwner(kReferenceNodes, key)));
  }
}

TEST(HashRingTest, ReferencePlacementIsPinnedToKnownOwners) {
  // Computed once (Python hashlib) and checked against ReferenceOwner; a change
  // of the hash function or key format breaks these.
  HashRing ring = MakeRing(kReferenceNodes, 1, 1);
  EXPECT_EQ(ring.OwnerOf("video1/manifest.mpd").value(), "localhost:8092");
  EXPECT_EQ(ring.OwnerOf("video1/master.m3u8").value(), "localhost:8090");
  EXPECT_EQ(ring.OwnerOf("video1/poster.jpg").value(), "localhost:8091");
  // Hashes above every node's point wrap to the smallest point (8092's).
  EXPECT_EQ(ring.OwnerOf("video2/manifest.mpd").value(), "localhost:8092");
  for (const char* key :
       {"video1/manifest.mpd", "video1/master.m3u8", "video1/poster.jpg", "video2/manifest.mpd"}) {
    EXPECT_EQ(ring.OwnerOf(key).value(), ReferenceOwner(kReferenceNodes, key)) << key;
  }
}

TEST(HashRingTest, PlacementDoesNotDependOnNodeOrder) {
  HashRing forward = MakeRing(NodeNames(5), 16, 3);
  std::vector<std::string> reversed = NodeNames(5);
  std::reverse(reversed.begin(), reversed.end());
  HashRing backward = MakeRing(reversed, 16, 3);
  for (const std::string& key : ManyKeys(500)) {
    EXPECT_EQ(forward.ReplicaSetFor(key), backward.ReplicaSetFor(key)) << key;
  }
}

TEST(HashRingTest, ReplicaSetHasDistinctNodesOwnerFirst) {
  HashRing ring = MakeRing(NodeNames(5), 8, 3);
  for (const std::string& key : ManyKeys(1000)) {
    std::vector<std::string> set = ring.ReplicaSetFor(key);
    ASSERT_THAT(set, SizeIs(3));
    EXPECT_EQ(std::set<std::string>(set.begin(), set.end()).size(), 3u) << key;
    EXPECT_EQ(set.front(), ring.OwnerOf(key).value());
  }
}

TEST(HashRingTest, ReplicasAreCappedByNodeCount) {
  HashRing ring = MakeRing({"a:1", "b:1"}, 4, 3);
  EXPECT_EQ(ring.replicas(), 2);
  EXPECT_THAT(ring.ReplicaSetFor("video1/manifest.mpd"), SizeIs(2));
}

TEST(HashRingTest, EmptyRingPlacesNothing) {
  HashRing ring = MakeRing({}, 128, 3);
  EXPECT_TRUE(ring.empty());
  EXPECT_TRUE(ring.ReplicaSetFor("video1/manifest.mpd").empty());
  EXPECT_EQ(ring.OwnerOf("video1/manifest.mpd").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(HashRingTest, RejectsBadConfiguration) {
  EXPECT_FALSE(HashRing::Create({"a:1", "a:1"}).ok());
  EXPECT_FALSE(HashRing::Create({"a:1", ""}).ok());
  EXPECT_FALSE(HashRing::Create({"a:1"}, 0, 1).ok());
  EXPECT_FALSE(HashRing::Create({"a:1"}, kMaxVirtualNodes + 1, 1).ok());
  EXPECT_FALSE(HashRing::Create({"a:1"}, 1, 0).ok());
  EXPECT_EQ(HashRing::Create({"a:1"}, 1, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HashRingTest, ContainsKnowsTheMembers) {
  HashRing ring = MakeRing(kReferenceNodes, 1, 1);
  EXPECT_TRUE(ring.Contains("localhost:8091"));
  EXPECT_FALSE(ring.Contains("localhost:8093"));
}

// Load = replica assignments per node; max/mean close to 1 means even spread.
double MaxOverMeanLoad(const HashRing& ring, const std::vector<std::string>& keys) {
  std::map<std::string, int> load;
  for (const std::string& node : ring.nodes()) load[node] = 0;
  for (const std::string& key : keys) {
    for (const std::string& node : ring.ReplicaSetFor(key)) ++load[node];
  }
  int max = 0;
  for (const auto& [node, count] : load) max = std::max(max, count);
  double mean = static_cast<double>(keys.size()) * ring.replicas() / load.size();
  return max / mean;
}

TEST(HashRingTest, KeysSpreadEvenlyOverNodes) {
  const std::vector<std::string> keys = ManyKeys(100000);
  for (int nodes : {3, 10}) {
    EXPECT_LE(MaxOverMeanLoad(MakeRing(NodeNames(nodes), 128, 1), keys), 1.3) << nodes;
    EXPECT_LE(MaxOverMeanLoad(MakeRing(NodeNames(nodes), 128, 3), keys), 1.3) << nodes;
  }
}

bool Includes(const std::vector<std::string>& set, const std::string& node) {
  return std::find(set.begin(), set.end(), node) != set.end();
}

// Adding a node may only put the new node into a key's replica set (pushing the
// last old member out); no key may move between two old nodes.
void ExpectAddMovesOnlyNewNodesShare(int old_count) {
  const std::vector<std::string> keys = ManyKeys(100000);
  std::vector<std::string> nodes = NodeNames(old_count + 1);
  const std::string added = nodes.back();
  HashRing before = MakeRing({nodes.begin(), nodes.end() - 1}, 128, 3);
  HashRing after = MakeRing(nodes, 128, 3);
  int moved = 0;
  for (const std::string& key : keys) {
    std::vector<std::string> old_set = before.ReplicaSetFor(key);
    std::vector<std::string> new_set = after.ReplicaSetFor(key);
    for (const std::string& node : new_set) {
      ASSERT_TRUE(node == added || Includes(old_set, node)) << key << " moved to " << node;
    }
    if (Includes(new_set, added)) ++moved;
  }
  const double expected = static_cast<double>(keys.size()) * after.replicas() / (old_count + 1);
  EXPECT_NEAR(moved / expected, 1.0, 0.25) << old_count << " -> " << old_count + 1;
}

TEST(HashRingTest, AddingANodeMovesOnlyItsShareOfKeys) {
  ExpectAddMovesOnlyNewNodesShare(3);
  ExpectAddMovesOnlyNewNodesShare(10);
}

TEST(HashRingTest, RemovingANodeMovesOnlyThatNodesShare) {
  const std::vector<std::string> keys = ManyKeys(100000);
  const std::vector<std::string> nodes = NodeNames(10);
  const std::string removed = nodes[4];
  std::vector<std::string> remaining = nodes;
  remaining.erase(remaining.begin() + 4);
  HashRing before = MakeRing(nodes, 128, 3);
  HashRing after = MakeRing(remaining, 128, 3);
  for (const std::string& key : keys) {
    std::vector<std::string> old_set = before.ReplicaSetFor(key);
    std::vector<std::string> new_set = after.ReplicaSetFor(key);
    if (!Includes(old_set, removed)) {
      ASSERT_EQ(old_set, new_set) << key;
      continue;
    }
    for (const std::string& node : old_set) {
      if (node != removed) {
        ASSERT_TRUE(Includes(new_set, node)) << key << " lost " << node;
      }
    }
  }
}

}  // namespace
}  // namespace dvs::content
