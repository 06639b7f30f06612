#include "admin/admin_service.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <future>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "admin/admin_server.h"
#include "admin/fake_cluster_admin.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dvs::admin {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class AdminServiceTest : public ::testing::Test {
 protected:
  void StartServer(std::string token = "") {
    server_ = std::make_unique<AdminServer>(
        cluster_, AdminServerOptions{.host = "127.0.0.1", .port = 0, .token = std::move(token)});
    ASSERT_TRUE(server_->Start().ok());
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    tritontube_ = tritontube::VideoContentAdminService::NewStub(channel_);
    admin_ = v1::Admin::NewStub(channel_);
  }
  void SetUp() override { StartServer(); }

  grpc::Status AddNode(const std::string& node, tritontube::AddNodeResponse* response) {
    grpc::ClientContext context;
    tritontube::AddNodeRequest request;
    request.set_node_address(node);
    return tritontube_->AddNode(&context, request, response);
  }

  // Reads a dvs.admin.v1 stream to its end.
  grpc::Status ReadStream(grpc::ClientReader<v1::ChangeProgress>& reader,
                          std::vector<v1::ChangeProgress>* messages) {
    v1::ChangeProgress message;
    while (reader.Read(&message)) messages->push_back(message);
    return reader.Finish();
  }

  FakeClusterAdmin cluster_{{"localhost:8090", "localhost:8091"}};
  std::unique_ptr<AdminServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<tritontube::VideoContentAdminService::Stub> tritontube_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

TEST_F(AdminServiceTest, TritonTubeAddNodeReportsMigratedCountAndNodeIsListed) {
  tritontube::AddNodeResponse response;
  ASSERT_TRUE(AddNode("localhost:8092", &response).ok());
  EXPECT_EQ(response.migrated_file_count(), 7);

  grpc::ClientContext context;
  tritontube::ListNodesResponse list;
  ASSERT_TRUE(tritontube_->ListNodes(&context, {}, &list).ok());
  EXPECT_THAT(list.nodes(), ElementsAre("localhost:8090", "localhost:8091", "localhost:8092"));
}

TEST_F(AdminServiceTest, TritonTubeRemoveNodeReportsMigratedCount) {
  cluster_.SetMigratedCount(3);
  grpc::ClientContext context;
  tritontube::RemoveNodeRequest request;
  request.set_node_address("localhost:8091");
  tritontube::RemoveNodeResponse response;
  ASSERT_TRUE(tritontube_->RemoveNode(&context, request, &response).ok());
  EXPECT_EQ(response.migrated_file_count(), 3);
}

TEST_F(AdminServiceTest, MigratedCountIsClampedToInt32) {
  cluster_.SetMigratedCount(uint64_t{1} << 40);
  tritontube::AddNodeResponse response;
  ASSERT_TRUE(AddNode("localhost:8092", &response).ok());
  EXPECT_EQ(response.migrated_file_count(), std::numeric_limits<int32_t>::max());
}

TEST_F(AdminServiceTest, AddingAMemberIsAlreadyExistsWithTheMessage) {
  tritontube::AddNodeResponse response;
  grpc::Status status = AddNode("localhost:8090", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(status.error_message(), "storage node localhost:8090 is already in the ring");
}

TEST_F(AdminServiceTest, RemovingTheLastNodeIsFailedPrecondition) {
  grpc::ClientContext first_context;
  tritontube::RemoveNodeRequest request;
  request.set_node_address("localhost:8090");
  tritontube::RemoveNodeResponse response;
  ASSERT_TRUE(tritontube_->RemoveNode(&first_context, request, &response).ok());

  grpc::ClientContext context;
  request.set_node_address("localhost:8091");
  grpc::Status status = tritontube_->RemoveNode(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("last node"));
}

TEST_F(AdminServiceTest, MalformedNodeAddressIsRefusedBeforeReachingTheCluster) {
  for (const char* bad : {"", "localhost", "localhost:", "localhost:99999", "a b:80", ":80"}) {
    tritontube::AddNodeResponse response;
    grpc::Status status = AddNode(bad, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
  }
  EXPECT_EQ(cluster_.calls(), 0);
}

TEST_F(AdminServiceTest, TokenIsRequiredWhenConfigured) {
  StartServer("s3cret");
  auto list_with = [&](const char* header) {
    grpc::ClientContext context;
    if (header != nullptr) context.AddMetadata("authorization", header);
    tritontube::ListNodesResponse response;
    return tritontube_->ListNodes(&context, {}, &response);
  };
  grpc::Status missing = list_with(nullptr);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(missing.error_message(), "missing or wrong admin token");
  EXPECT_EQ(list_with("Bearer s3cre").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(list_with("Bearer s3cret2").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(list_with("s3cret").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(list_with("Bearer s3cret").ok());
}

TEST_F(AdminServiceTest, TokenGuardsTheStreamingApiToo) {
  StartServer("s3cret");
  grpc::ClientContext context;
  v1::NodeChangeRequest request;
  request.set_node_address("localhost:8092");
  std::vector<v1::ChangeProgress> messages;
  grpc::Status status = ReadStream(*admin_->AddNode(&context, request), &messages);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(messages.empty());
  EXPECT_EQ(cluster_.calls(), 0);
}

TEST(AdminServerTest, NonLoopbackAddressIsRefusedUnlessAllowed) {
  FakeClusterAdmin cluster({"localhost:8090"});
  AdminServer server(cluster, {.host = "0.0.0.0", .port = 0});
  absl::Status status = server.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("--admin-allow-remote"));

  AdminServer allowed(cluster,
                      {.host = "0.0.0.0", .port = 0, .allow_remote = true, .token = "s3cret"});
  ASSERT_TRUE(allowed.Start().ok());
  EXPECT_GT(allowed.port(), 0);
}

TEST(AdminServerTest, RemoteAccessWithoutATokenIsRefused) {
  FakeClusterAdmin cluster({"localhost:8090"});
  AdminServer server(cluster, {.host = "0.0.0.0", .port = 0, .allow_remote = true});
  absl::Status status = server.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("needs an admin token"));
  EXPECT_EQ(server.port(), 0);
}

TEST(AdminServerTest, OnlyOneTlsFileIsRefused) {
  FakeClusterAdmin cluster({"localhost:8090"});
  AdminServer server(cluster, {.host = "127.0.0.1", .port = 0, .tls_cert_file = "cert.pem"});
  absl::Status status = server.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("--tls-key"));
}

TEST(AdminServerTest, LoopbackNamesAreAcceptedByDefault) {
  FakeClusterAdmin cluster({"localhost:8090"});
  for (const char* host : {"127.0.0.1", "localhost", "::1"}) {
    AdminServer server(cluster, {.host = host, .port = 0});
    absl::Status status = server.Start();
    // ::1 may be missing in a container without IPv6; only the policy is tested.
    EXPECT_NE(status.code(), absl::StatusCode::kInvalidArgument) << host;
  }
}

TEST_F(AdminServiceTest, StreamedAddNodeSendsProgressThenTheResult) {
  grpc::ClientContext context;
  v1::NodeChangeRequest request;
  request.set_node_address("localhost:8092");
  std::vector<v1::ChangeProgress> messages;
  ASSERT_TRUE(ReadStream(*admin_->AddNode(&context, request), &messages).ok());

  // Updates may be dropped for a slow reader, but never the result, last.
  ASSERT_GE(messages.size(), 2u);
  EXPECT_EQ(messages.front().phase(), "copying");
  EXPECT_FALSE(messages.front().has_node_change());
  EXPECT_EQ(messages.back().phase(), "done");
  ASSERT_TRUE(messages.back().has_node_change());
  EXPECT_EQ(messages.back().node_change().migrated_file_count(), 7u);
}

TEST_F(AdminServiceTest, StreamedChangeErrorEndsTheStreamWithItsCode) {
  grpc::ClientContext context;
  v1::NodeChangeRequest request;
  request.set_node_address("localhost:8095");
  std::vector<v1::ChangeProgress> messages;
  grpc::Status status = ReadStream(*admin_->RemoveNode(&context, request), &messages);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(messages.empty());
}

TEST_F(AdminServiceTest, ChangeContinuesWhenTheClientDisconnects) {
  cluster_.CloseGate();
  {
    grpc::ClientContext context;
    v1::NodeChangeRequest request;
    request.set_node_address("localhost:8092");
    auto reader = admin_->AddNode(&context, request);
    v1::ChangeProgress first;
    ASSERT_TRUE(reader->Read(&first));
    context.TryCancel();
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  cluster_.OpenGate();
  cluster_.WaitForFinishedChanges(1);
  EXPECT_THAT(*cluster_.ListNodes(),
              ElementsAre("localhost:8090", "localhost:8091", "localhost:8092"));
}

TEST_F(AdminServiceTest, StopWaitsForAChangeInProgress) {
  cluster_.CloseGate();
  grpc::ClientContext context;
  v1::NodeChangeRequest request;
  request.set_node_address("localhost:8092");
  auto reader = admin_->AddNode(&context, request);
  v1::ChangeProgress first;
  ASSERT_TRUE(reader->Read(&first));

  auto stopped =
      std::async(std::launch::async, [&] { server_->Stop(std::chrono::milliseconds(0)); });
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  cluster_.OpenGate();
  stopped.get();
  EXPECT_THAT(*cluster_.ListNodes(),
              ElementsAre("localhost:8090", "localhost:8091", "localhost:8092"));
}

TEST_F(AdminServiceTest, StatusReportsRingAndNodeHealth) {
  grpc::ClientContext context;
  v1::StatusResponse response;
  ASSERT_TRUE(admin_->Status(&context, {}, &response).ok());
  EXPECT_EQ(response.ring().epoch(), 4u);
  EXPECT_EQ(response.ring().replicas(), 2);
  EXPECT_FALSE(response.ring().has_transition());
  ASSERT_EQ(response.nodes_size(), 2);
  EXPECT_TRUE(response.nodes(0).healthy());
  EXPECT_EQ(response.nodes(0).blob_count(), 42u);
  EXPECT_FALSE(response.nodes(1).healthy());
  EXPECT_EQ(response.nodes(1).error(), "connection refused");
}

TEST_F(AdminServiceTest, RepairStreamsProgressThenTheReport) {
  cluster_.SetLostKeys({"clip/chunk-1.m4s"});
  grpc::ClientContext context;
  std::vector<v1::ChangeProgress> messages;
  ASSERT_TRUE(ReadStream(*admin_->Repair(&context, {}), &messages).ok());
  ASSERT_GE(messages.size(), 2u);
  ASSERT_TRUE(messages.back().has_repair());
  EXPECT_EQ(messages.back().repair().keys_checked(), 30u);
  EXPECT_THAT(messages.back().repair().lost_keys(), ElementsAre("clip/chunk-1.m4s"));
}

}  // namespace
}  // namespace dvs::admin
