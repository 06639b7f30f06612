// The etcd backend while members of a real 3-member cluster die: one member
// down (the leader among them) costs a short pause and no acknowledged
// record; two down is a prompt Unavailable, and service returns with them.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
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

}  // namespace
}  // namespace dvs::metadata
