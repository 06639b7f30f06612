// The etcd backend while members of a real 3-member cluster die: one member
// down (the leader among them) costs a short pause and no acknowledged
// record; two down is a prompt Unavailable, and service returns with them.
#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "metadata/etcd/etcd_metadata_service.h"
#include "metadata/etcd/etcd_test_cluster.h"

namespace dvs::metadata {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

VideoMetadata Video(std::string id, int64_t uploaded_at_ms) {
  VideoMetadata meta;
  meta.id = std::move(id);
  meta.title = meta.id + ".mp4";
  meta.uploaded_at_ms = uploaded_at_ms;
  return meta;
}

milliseconds Since(steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
}

TEST(EtcdFailoverTest, KillingEachMemberInTurnKeepsServingAndLosesNothing) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  EtcdMetadataService service(cluster.NewClient({.call_timeout = milliseconds(1500)}));
  std::vector<std::string> acknowledged;
  for (int member = 0; member < cluster.size(); ++member) {
    cluster.Kill(member);  // one of the three is the leader
    for (int k = 0; k < 5; ++k) {
      std::string id = absl::StrCat("after-kill-", member, "-", k);
      steady_clock::time_point start = steady_clock::now();
      absl::Status created = service.Create(Video(id, member * 10 + k));
      ASSERT_TRUE(created.ok()) << id << ": " << created;
      EXPECT_LT(Since(start), milliseconds(6000)) << id;
      acknowledged.push_back(id);
      absl::StatusOr<VideoMetadata> read = service.Read(id);
      ASSERT_TRUE(read.ok()) << id << ": " << read.status();
    }
    ASSERT_TRUE(cluster.Restart(member).ok());
    ASSERT_TRUE(cluster.WaitHealthy(std::chrono::seconds(15)).ok());
  }
  // A fresh client, starting on member 0, sees every acknowledged record.
  EtcdMetadataService fresh(cluster.NewClient());
  absl::StatusOr<std::vector<VideoMetadata>> list = fresh.List();
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->size(), acknowledged.size());
  for (const std::string& id : acknowledged) EXPECT_TRUE(fresh.Read(id).ok()) << id;
}

TEST(EtcdFailoverTest, WithoutQuorumCallsAreUnavailablePromptlyAndRecover) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  // Three attempts of one second: a bounded wait, whatever etcd does.
  EtcdMetadataService service(
      cluster.NewClient({.call_timeout = milliseconds(1000), .max_attempts = 3}));
  ASSERT_TRUE(service.Create(Video("before", 1)).ok());
  cluster.Kill(1);
  cluster.Kill(2);

  steady_clock::time_point start = steady_clock::now();
  absl::Status created = service.Create(Video("during", 2));
  EXPECT_EQ(created.code(), absl::StatusCode::kUnavailable) << created;
  EXPECT_NE(created.message().find("no quorum"), absl::string_view::npos) << created;
  EXPECT_LT(Since(start), milliseconds(5000));
  EXPECT_EQ(service.Read("before").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(service.CheckHealth().code(), absl::StatusCode::kUnavailable);

  ASSERT_TRUE(cluster.Restart(1).ok());
  ASSERT_TRUE(cluster.Restart(2).ok());
  ASSERT_TRUE(cluster.WaitHealthy(std::chrono::seconds(15)).ok());
  EXPECT_TRUE(service.CheckHealth().ok());
  EXPECT_TRUE(service.Read("before").ok());
  EXPECT_TRUE(service.Create(Video("after", 3)).ok());
}

TEST(EtcdFailoverTest, NoReachableEndpointIsUnavailableNamingThem) {
  EtcdTestCluster cluster(3);  // never started: nothing listens on its ports
  EtcdMetadataService service(cluster.NewClient({.call_timeout = milliseconds(500)}));
  absl::Status status = service.Create(Video("x", 1));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  for (const std::string& endpoint : cluster.ClientEndpoints()) {
    EXPECT_NE(status.message().find(endpoint), absl::string_view::npos) << status;
  }
}

}  // namespace
}  // namespace dvs::metadata
