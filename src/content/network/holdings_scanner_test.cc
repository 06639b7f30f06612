// HoldingsScanner over real storage servers in this process: batches walk
// every key once, in order, with all its holders, in pages far smaller than
// the key count.
#include "content/network/holdings_scanner.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "content/network/network_test_cluster.h"

namespace dvs::content {
namespace {

using testing::TestCluster;

NodePool MakePool() {
  storage::StorageClientOptions options;
  options.call_timeout = std::chrono::seconds(3);
  return NodePool(
      options, [] { return int64_t{0}; }, std::chrono::milliseconds(100));
}

// Puts key i on the nodes its bits pick (at least one), and returns where each went.
StoredKeys Spread(TestCluster& cluster, const std::vector<std::string>& nodes, int count) {
  StoredKeys where;
  for (int i = 0; i < count; ++i) {
    std::string key = absl::StrCat("v", i % 5, "/f-", 10000 + i);
    int mask = i % 7 + 1;  // 1..7: a non-empty subset of three nodes
    for (size_t n = 0; n < nodes.size(); ++n) {
      if ((mask & (1 << n)) == 0) continue;
      EXPECT_TRUE(cluster.Client(nodes[n]).Put(key, key).ok());
      where[key].insert(nodes[n]);
    }
  }
  return where;
}

TEST(HoldingsScannerTest, SmallPagesHandOutEveryKeyOnceWithAllItsHolders) {
  TestCluster cluster;
  std::vector<std::string> nodes = cluster.StartNodes(3);
  StoredKeys expected = Spread(cluster, nodes, 500);
  NodePool pool = MakePool();
  HoldingsScanner scanner(pool, nodes, /*page_size=*/16);
  StoredKeys seen;
  std::string last;
  size_t batches = 0;
  for (StoredKeys batch = scanner.Next(); !batch.empty(); batch = scanner.Next()) {
    ++batches;
    EXPECT_LE(batch.size(), 3u * 16u);      // bounded by the pages, not the key count
    EXPECT_GT(batch.begin()->first, last);  // in key order, nothing twice
    last = batch.rbegin()->first;
    seen.merge(batch);
    EXPECT_TRUE(batch.empty());  // no key in two batches
  }
  EXPECT_EQ(seen, expected);
  EXPECT_GE(batches, 500u / 16u);
  EXPECT_EQ(scanner.keys_seen(), 500u);
  EXPECT_TRUE(scanner.unlisted().empty());
}

TEST(HoldingsScannerTest, NodeThatCannotBeListedCountsAsHoldingNothing) {
  TestCluster cluster;
  std::vector<std::string> nodes = cluster.StartNodes(2);
  ASSERT_TRUE(cluster.Client(nodes[0]).Put("v/a", "a").ok());
  ASSERT_TRUE(cluster.Client(nodes[1]).Put("v/a", "a").ok());
  ASSERT_TRUE(cluster.Client(nodes[1]).Put("v/b", "b").ok());
  std::string dead = cluster.DeadAddress();
  NodePool pool = MakePool();
  HoldingsScanner scanner(pool, {nodes[0], dead, nodes[1]}, 1);
  StoredKeys seen;
  for (StoredKeys batch = scanner.Next(); !batch.empty(); batch = scanner.Next()) seen.merge(batch);
  EXPECT_EQ(seen, (StoredKeys{{"v/a", {nodes[0], nodes[1]}}, {"v/b", {nodes[1]}}}));
  ASSERT_EQ(scanner.unlisted().size(), 1u);
  EXPECT_EQ(scanner.unlisted()[0].node, dead);
}

}  // namespace
}  // namespace dvs::content
