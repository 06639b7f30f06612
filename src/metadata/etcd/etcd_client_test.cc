// EtcdClient's ranges, revision-returning writes and alarms against a real
// 3-member cluster: pages read at one revision are one snapshot whatever is
// written meanwhile, compacted revisions are OutOfRange, compare-and-swap
// writes answer written or not with strictly increasing revisions.
#include "metadata/etcd/etcd_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "metadata/etcd/etcd_test_cluster.h"
#include "proto/etcd/rpc.grpc.pb.h"

namespace dvs::metadata {
namespace {

namespace pb = ::etcdserverpb;

std::shared_ptr<grpc::Channel> ChannelTo(const EtcdTestCluster& cluster, int member) {
  return grpc::CreateChannel(cluster.ClientEndpoint(member), grpc::InsecureChannelCredentials());
}

// ACTIVATE or DEACTIVATE a NOSPACE alarm on `member_id`, as etcd itself does
// when its space quota runs out.
void SetNoSpaceAlarm(const EtcdTestCluster& cluster, pb::AlarmRequest::AlarmAction action,
                     uint64_t member_id) {
  pb::AlarmRequest request;
  request.set_action(action);
  request.set_memberid(member_id);
  request.set_alarm(pb::NOSPACE);
  pb::AlarmResponse response;
  grpc::ClientContext context;
  grpc::Status status =
      pb::Maintenance::NewStub(ChannelTo(cluster, 0))->Alarm(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

uint64_t MemberId(const EtcdTestCluster& cluster) {
  pb::AlarmRequest request;  // GET: any call's header names the member
  pb::AlarmResponse response;
  grpc::ClientContext context;
  grpc::Status status =
      pb::Maintenance::NewStub(ChannelTo(cluster, 0))->Alarm(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.header().member_id();
}

std::string Key(int i) { return absl::StrFormat("/p/k%04d", i); }

TEST(EtcdClientTest, PrefixEndIsThePrefixWithItsLastByteIncreased) {
  EXPECT_EQ(EtcdClient::PrefixEnd("/videos/"), "/videos0");
  EXPECT_EQ(EtcdClient::PrefixEnd("a\xff"), "b");
  EXPECT_EQ(EtcdClient::PrefixEnd("\xff\xff"), std::string(1, '\0'));
  EXPECT_EQ(EtcdClient::PrefixEnd(""), std::string(1, '\0'));
}

TEST(EtcdClientTest, PagesAtOneRevisionAreTheKeysOfThatRevisionWhateverIsWrittenMeanwhile) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> client = cluster.NewClient();
  std::shared_ptr<EtcdClient> other = cluster.NewClient();
  std::map<std::string, EtcdClient::KeyValue> expected;
  for (int i = 0; i < 300; ++i) {
    std::string value = absl::StrCat("v", i);
    absl::StatusOr<int64_t> revision = client->PutAt(Key(2 * i), value);
    ASSERT_TRUE(revision.ok()) << revision.status();
    expected[Key(2 * i)] = {Key(2 * i), value, *revision};
  }
  ASSERT_TRUE(client->Put("/p0", "just past the prefix").ok());
  ASSERT_TRUE(client->Put("/o", "just before it").ok());

  std::vector<EtcdClient::KeyValue> read;
  std::string start = "/p/";
  const std::string end = EtcdClient::PrefixEnd("/p/");
  int64_t revision = 0;
  int pages = 0;
  for (bool more = true; more; ++pages) {
    absl::StatusOr<EtcdClient::RangePage> page = client->GetRange(start, end, 50, revision);
    ASSERT_TRUE(page.ok()) << page.status();
    if (revision == 0) revision = page->revision;
    EXPECT_EQ(page->revision, revision);
    ASSERT_FALSE(page->kvs.empty());
    read.insert(read.end(), page->kvs.begin(), page->kvs.end());
    more = page->more;
    start = page->kvs.back().key + '\0';
    // Meanwhile: new keys among those read and those ahead, a change and a
    // delete of keys not read yet (of read ones on the last page).
    const int i = 100 * pages;
    ASSERT_TRUE(other->Put(Key(i + 1), "new").ok());
    ASSERT_TRUE(other->Put(Key(i + 103), "new").ok());
    ASSERT_TRUE(other->Put(Key((i + 100) % 600), "changed").ok());
    ASSERT_TRUE(other->Delete(Key((i + 102) % 600)).ok());
  }
  EXPECT_EQ(pages, 6);
  ASSERT_EQ(read.size(), expected.size());
  for (const EtcdClient::KeyValue& kv : read) {
    const EtcdClient::KeyValue& want = expected[kv.key];
    EXPECT_EQ(kv.value, want.value) << kv.key;
    EXPECT_EQ(kv.mod_revision, want.mod_revision) << kv.key;
  }
  EXPECT_TRUE(std::is_sorted(read.begin(), read.end(),
                             [](const auto& a, const auto& b) { return a.key < b.key; }));
  // The newest: the writes made meanwhile are there.
  absl::StatusOr<EtcdClient::RangePage> now = client->GetRange("/p/", end, 0);
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_GT(now->revision, revision);
  EXPECT_EQ(now->kvs.size(), 300u + 2 * 6 - 6);
  EXPECT_FALSE(now->more);
}

TEST(EtcdClientTest, GetPrefixGivesEachKeysModRevision) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> client = cluster.NewClient();
  absl::StatusOr<int64_t> a = client->PutAt("/g/a", "1");
  absl::StatusOr<int64_t> b = client->PutAt("/g/b", "2");
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<std::vector<EtcdClient::KeyValue>> kvs = client->GetPrefix("/g/");
  ASSERT_TRUE(kvs.ok()) << kvs.status();
  ASSERT_EQ(kvs->size(), 2u);
  EXPECT_EQ((*kvs)[0].mod_revision, *a);
  EXPECT_EQ((*kvs)[1].mod_revision, *b);
}

TEST(EtcdClientTest, ARangeAtACompactedRevisionIsOutOfRange) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> client = cluster.NewClient();
  absl::StatusOr<int64_t> old = client->PutAt("/c/a", "1");
  ASSERT_TRUE(old.ok());
  absl::StatusOr<int64_t> newer = client->PutAt("/c/a", "2");
  ASSERT_TRUE(newer.ok());
  ASSERT_TRUE(client->Compact(*newer).ok());

  absl::StatusOr<EtcdClient::RangePage> page = client->GetRange("/c/", "/c0", 0, *old);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kOutOfRange) << page.status();
  EXPECT_NE(page.status().message().find("compacted"), absl::string_view::npos) << page.status();
  page = client->GetRange("/c/", "/c0", 0, *newer);  // the compaction revision itself is kept
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->kvs.size(), 1u);
  EXPECT_EQ(page->kvs[0].value, "2");
}

TEST(EtcdClientTest, CompareAndPutWritesOnlyOverTheExpectedRevision) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> client = cluster.NewClient();
  absl::StatusOr<EtcdClient::WriteResult> created = client->CompareAndPutAt("/cas/k", 0, "v1");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->written);
  absl::StatusOr<EtcdClient::WriteResult> again = client->CompareAndPutAt("/cas/k", 0, "v1'");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->written);  // not absent any more
  EXPECT_EQ(again->revision, created->revision);

  absl::StatusOr<EtcdClient::WriteResult> updated =
      client->CompareAndPutAt("/cas/k", created->revision, "v2");
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_TRUE(updated->written);
  EXPECT_GT(updated->revision, created->revision);
  absl::StatusOr<EtcdClient::WriteResult> stale =
      client->CompareAndPutAt("/cas/k", created->revision, "v3");
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_FALSE(stale->written);

  absl::StatusOr<std::optional<EtcdClient::Value>> got = client->Get("/cas/k");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, "v2");
  EXPECT_EQ((*got)->mod_revision, updated->revision);
}

TEST(EtcdClientTest, CompareAndDeleteDeletesOnlyTheExpectedRevision) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> client = cluster.NewClient();
  absl::StatusOr<int64_t> first = client->PutAt("/cas/k", "v1");
  ASSERT_TRUE(first.ok());
  absl::StatusOr<int64_t> second = client->PutAt("/cas/k", "v2");
  ASSERT_TRUE(second.ok());
  EXPECT_GT(*second, *first);

  absl::StatusOr<EtcdClient::WriteResult> stale = client->CompareAndDelete("/cas/k", *first);
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_FALSE(stale->written);
  absl::StatusOr<EtcdClient::WriteResult> deleted = client->CompareAndDelete("/cas/k", *second);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_TRUE(deleted->written);
  EXPECT_GT(deleted->revision, *second);
  absl::StatusOr<EtcdClient::WriteResult> gone = client->CompareAndDelete("/cas/k", *second);
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_FALSE(gone->written);
  absl::StatusOr<EtcdClient::WriteResult> absent = client->CompareAndDelete("/cas/k", 0);
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_FALSE(absent->written);  // nothing there to delete
  absl::StatusOr<std::optional<EtcdClient::Value>> got = client->Get("/cas/k");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST(EtcdClientTest, DeleteAtSaysWhetherTheKeyExistedAndRevisionsIncrease) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> client = cluster.NewClient();
  absl::StatusOr<int64_t> put = client->PutAt("/d/k", "v");
  ASSERT_TRUE(put.ok());
  absl::StatusOr<EtcdClient::WriteResult> deleted = client->DeleteAt("/d/k");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_TRUE(deleted->written);
  EXPECT_GT(deleted->revision, *put);
  absl::StatusOr<EtcdClient::WriteResult> again = client->DeleteAt("/d/k");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->written);
  EXPECT_EQ(again->revision, deleted->revision);  // nothing changed
  absl::StatusOr<int64_t> next = client->PutAt("/d/k", "v");
  ASSERT_TRUE(next.ok());
  EXPECT_GT(*next, deleted->revision);
}

TEST(EtcdClientTest, AlarmsAreEmptyWhenHealthyAndNameAnActiveOne) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> client = cluster.NewClient();
  absl::StatusOr<std::vector<std::string>> alarms = client->Alarms();
  ASSERT_TRUE(alarms.ok()) << alarms.status();
  EXPECT_TRUE(alarms->empty());

  const uint64_t member = MemberId(cluster);
  SetNoSpaceAlarm(cluster, pb::AlarmRequest::ACTIVATE, member);
  alarms = client->Alarms();
  ASSERT_TRUE(alarms.ok()) << alarms.status();
  EXPECT_EQ(*alarms,
            std::vector<std::string>{absl::StrCat("NOSPACE on member ", absl::Hex(member))});
  EXPECT_EQ(client->Put("/a/k", "v").code(), absl::StatusCode::kResourceExhausted);

  SetNoSpaceAlarm(cluster, pb::AlarmRequest::DEACTIVATE, member);
  alarms = client->Alarms();
  ASSERT_TRUE(alarms.ok()) << alarms.status();
  EXPECT_TRUE(alarms->empty());
  EXPECT_TRUE(client->Put("/a/k", "v").ok());
}

}  // namespace
}  // namespace dvs::metadata
