// The etcd backend while members of a real 3-member cluster die: one member
// down (the leader among them) costs a short pause and no acknowledged
// record; two down is a prompt Unavailable, and service returns with them.
// And a conditional write whose answer was lost on the way (the member applied
// it, then died) reports what happened, or that nobody can tell, never a
// false "not written".
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "metadata/etcd/etcd_metadata_service.h"
#include "metadata/etcd/etcd_test_cluster.h"
#include "proto/etcd/rpc.grpc.pb.h"

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
  auto opened = EtcdMetadataService::Open(cluster.NewClient({.call_timeout = milliseconds(1500)}));
  ASSERT_TRUE(opened.ok()) << opened.status();
  EtcdMetadataService& service = **opened;
  std::vector<std::string> acknowledged;
  for (int member = 0; member < cluster.size(); ++member) {
    cluster.Kill(member);  // one of the three is the leader
    for (int k = 0; k < 5; ++k) {
      std::string id = absl::StrCat("after-kill-", member, "-", k);
      steady_clock::time_point start = steady_clock::now();
      absl::Status created = service.Create(Video(id, member * 10 + k)).status();
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
  auto fresh = EtcdMetadataService::Open(cluster.NewClient());
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  absl::StatusOr<VideoPage> list = (*fresh)->List("", 100);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->videos.size(), acknowledged.size());
  for (const std::string& id : acknowledged) EXPECT_TRUE((*fresh)->Read(id).ok()) << id;
}

TEST(EtcdFailoverTest, WithoutQuorumCallsAreUnavailablePromptlyAndRecover) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  // Three attempts of one second: a bounded wait, whatever etcd does.
  auto opened = EtcdMetadataService::Open(
      cluster.NewClient({.call_timeout = milliseconds(1000), .max_attempts = 3}));
  ASSERT_TRUE(opened.ok()) << opened.status();
  EtcdMetadataService& service = **opened;
  ASSERT_TRUE(service.Create(Video("before", 1)).ok());
  cluster.Kill(1);
  cluster.Kill(2);

  steady_clock::time_point start = steady_clock::now();
  absl::Status created = service.Create(Video("during", 2)).status();
  EXPECT_EQ(created.code(), absl::StatusCode::kUnavailable) << created;
  EXPECT_NE(created.message().find("no quorum"), absl::string_view::npos) << created;
  EXPECT_LT(Since(start), milliseconds(5000));
  EXPECT_EQ(service.Read("before").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(service.CheckHealth().code(), absl::StatusCode::kUnavailable);
  // Lists are answered from memory, quorum or not.
  absl::StatusOr<VideoPage> listed = service.List("", 10);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->videos.size(), 1u);

  ASSERT_TRUE(cluster.Restart(1).ok());
  ASSERT_TRUE(cluster.Restart(2).ok());
  ASSERT_TRUE(cluster.WaitHealthy(std::chrono::seconds(15)).ok());
  EXPECT_TRUE(service.CheckHealth().ok());
  EXPECT_TRUE(service.Read("before").ok());
  EXPECT_TRUE(service.Create(Video("after", 3)).ok());
}

TEST(EtcdFailoverTest, NoReachableEndpointIsUnavailableNamingThem) {
  EtcdTestCluster cluster(3);  // never started: nothing listens on its ports
  absl::Status status =
      EtcdMetadataService::Open(cluster.NewClient({.call_timeout = milliseconds(500)})).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  for (const std::string& endpoint : cluster.ClientEndpoints()) {
    EXPECT_NE(status.message().find(endpoint), absl::string_view::npos) << status;
  }
}

// An endpoint whose every read fails with `code`, as gRPC's core reports a
// connection to a member that broke mid-call (UNKNOWN "Stream removed").
class FailingMember final : public etcdserverpb::KV::Service {
 public:
  explicit FailingMember(grpc::StatusCode code) : code_(code) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FailingMember() override { server_->Shutdown(); }
  std::string endpoint() const { return absl::StrCat("127.0.0.1:", port_); }
  int calls() const { return calls_.load(); }

  grpc::Status Range(grpc::ServerContext*, const etcdserverpb::RangeRequest*,
                     etcdserverpb::RangeResponse*) override {
    ++calls_;
    return grpc::Status(code_, "Stream removed");
  }

 private:
  const grpc::StatusCode code_;
  int port_ = 0;
  std::atomic<int> calls_{0};
  std::unique_ptr<grpc::Server> server_;
};

TEST(EtcdFailoverTest, AMemberWhoseCallBreaksIsPassedOverForOneThatAnswers) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  ASSERT_TRUE(cluster.NewClient()->Put("k", "v").ok());
  for (grpc::StatusCode code : {grpc::StatusCode::UNKNOWN, grpc::StatusCode::INTERNAL}) {
    FailingMember broken(code);
    absl::StatusOr<std::unique_ptr<EtcdClient>> client =
        EtcdClient::Create({broken.endpoint(), cluster.ClientEndpoint(0)});
    ASSERT_TRUE(client.ok()) << client.status();
    absl::StatusOr<std::optional<EtcdClient::Value>> got = (*client)->Get("k");
    ASSERT_TRUE(got.ok()) << code << ": " << got.status();
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ((*got)->value, "v");
    EXPECT_EQ(broken.calls(), 1);
  }
}

TEST(EtcdFailoverTest, WhenNoMemberAnswersTheBrokenCallIsUnavailable) {
  FailingMember broken(grpc::StatusCode::UNKNOWN);
  absl::StatusOr<std::unique_ptr<EtcdClient>> client =
      EtcdClient::Create({broken.endpoint()}, {.retry_backoff = milliseconds(1)});
  ASSERT_TRUE(client.ok()) << client.status();
  absl::Status status = (*client)->Get("k").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_NE(status.message().find("Stream removed"), absl::string_view::npos) << status;
}

// An endpoint that hands every call on to a real member but, for a Txn,
// loses the answer: as when a member applies a write and dies before
// answering. `forward_txn` false loses the request instead; `meanwhile`
// runs after the Txn was applied, before the answer is lost.
class LosingMember final : public etcdserverpb::KV::Service {
 public:
  LosingMember(const std::string& real_endpoint, bool forward_txn)
      : real_(etcdserverpb::KV::NewStub(
            grpc::CreateChannel(real_endpoint, grpc::InsecureChannelCredentials()))),
        forward_txn_(forward_txn) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~LosingMember() override { server_->Shutdown(); }
  std::string endpoint() const { return absl::StrCat("127.0.0.1:", port_); }
  void set_meanwhile(std::function<void()> meanwhile) { meanwhile_ = std::move(meanwhile); }

  grpc::Status Range(grpc::ServerContext*, const etcdserverpb::RangeRequest* request,
                     etcdserverpb::RangeResponse* response) override {
    grpc::ClientContext context;
    return real_->Range(&context, *request, response);
  }
  grpc::Status Txn(grpc::ServerContext*, const etcdserverpb::TxnRequest* request,
                   etcdserverpb::TxnResponse*) override {
    if (forward_txn_) {
      grpc::ClientContext context;
      etcdserverpb::TxnResponse lost;
      grpc::Status status = real_->Txn(&context, *request, &lost);
      if (!status.ok()) return status;
    }
    if (meanwhile_) meanwhile_();
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the answer was lost");
  }

 private:
  std::unique_ptr<etcdserverpb::KV::Stub> real_;
  const bool forward_txn_;
  std::function<void()> meanwhile_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// A client whose first attempts go to `losing`, the retries to member 0.
std::unique_ptr<EtcdClient> ClientBehind(const LosingMember& losing,
                                         const EtcdTestCluster& cluster) {
  absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Create(
      {losing.endpoint(), cluster.ClientEndpoint(0)}, {.retry_backoff = milliseconds(1)});
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

TEST(EtcdFailoverTest, AConditionalWriteWhoseAnswerWasLostIsReportedWritten) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> direct = cluster.NewClient();
  LosingMember losing(cluster.ClientEndpoint(0), /*forward_txn=*/true);

  absl::StatusOr<EtcdClient::WriteResult> created =
      ClientBehind(losing, cluster)->CompareAndPutAt("/lost/k", 0, "v1");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->written);
  absl::StatusOr<std::optional<EtcdClient::Value>> got = direct->Get("/lost/k");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->mod_revision, created->revision);

  absl::StatusOr<EtcdClient::WriteResult> updated =
      ClientBehind(losing, cluster)->CompareAndPutAt("/lost/k", created->revision, "v2");
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_TRUE(updated->written);
  EXPECT_GT(updated->revision, created->revision);

  absl::StatusOr<EtcdClient::WriteResult> deleted =
      ClientBehind(losing, cluster)->CompareAndDelete("/lost/k", updated->revision);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_TRUE(deleted->written);
  got = direct->Get("/lost/k");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST(EtcdFailoverTest, AChangeByAnotherWhileTheAnswerWasLostMakesTheOutcomeUnknown) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> other = cluster.NewClient();
  LosingMember losing(cluster.ClientEndpoint(0), /*forward_txn=*/true);
  losing.set_meanwhile([&] { ASSERT_TRUE(other->Put("/lost/k", "theirs").ok()); });

  // Ours was applied, then overwritten: "not written" would be false.
  absl::StatusOr<EtcdClient::WriteResult> created =
      ClientBehind(losing, cluster)->CompareAndPutAt("/lost/k", 0, "ours");
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable) << created.status();
  EXPECT_NE(created.status().message().find("outcome is unknown"), absl::string_view::npos)
      << created.status();
}

TEST(EtcdFailoverTest, ACompareThatFailedBeforeTheCallIsNotWrittenAfterARetry) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> other = cluster.NewClient();
  absl::StatusOr<int64_t> theirs = other->PutAt("/lost/k", "theirs");
  ASSERT_TRUE(theirs.ok());
  LosingMember losing(cluster.ClientEndpoint(0), /*forward_txn=*/false);
  std::unique_ptr<EtcdClient> client = ClientBehind(losing, cluster);
  ASSERT_TRUE(client->Get("/lost/k").ok());  // the client has seen the key's revision

  absl::StatusOr<EtcdClient::WriteResult> created = client->CompareAndPutAt("/lost/k", 0, "ours");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_FALSE(created->written);
  absl::StatusOr<EtcdClient::WriteResult> deleted =
      ClientBehind(losing, cluster)->CompareAndDelete("/lost/k", *theirs - 1);
  EXPECT_EQ(deleted.status().code(), absl::StatusCode::kUnavailable)  // this one has seen nothing
      << deleted.status();
}

}  // namespace
}  // namespace dvs::metadata
