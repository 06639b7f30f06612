// The storage server's cluster credential and TLS, end to end: real servers
// on 127.0.0.1 port 0, called through StorageClient and raw stubs.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/test_certificates.h"
#include "proto/storage.grpc.pb.h"
#include "storage/storage_client.h"
#include "storage/storage_server.h"

namespace dvs::storage {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kToken[] = "cluster-s3cret";

fs::path TestDir(std::string_view suffix) {
  fs::path dir =
      fs::path(::testing::TempDir()) /
      ("storage_security_test-" + std::to_string(::getpid()) + "-" +
       ::testing::UnitTest::GetInstance()->current_test_info()->name() + std::string(suffix));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

class ClusterTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TestDir("");
    auto server = StorageServer::Start(
        {.host = "127.0.0.1", .port = 0, .dir = dir_ / "store", .cluster_token = kToken});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    StorageClientOptions options;
    options.cluster_token = kToken;
    trusted_ = std::make_unique<StorageClient>(server_->address(), options);
    ASSERT_TRUE(trusted_->Put("clip/g1/manifest.mpd", "recorded").ok());
  }
  void TearDown() override {
    trusted_.reset();
    server_.reset();
    fs::remove_all(dir_);
  }
  std::unique_ptr<StorageClient> ClientWithToken(std::string token) {
    StorageClientOptions options;
    options.cluster_token = std::move(token);
    return std::make_unique<StorageClient>(server_->address(), options);
  }
  // What an attacker's client does to the store: every change it tries.
  void ExpectEveryCallRefused(StorageClient& client) {
    EXPECT_EQ(client.Put("clip/g1/manifest.mpd", "forged").status().code(),
              absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(client.Put("clip/g1/new.m4s", "planted").status().code(),
              absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(client.Delete("clip/g1/manifest.mpd").status().code(),
              absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(client.DeleteVideo("clip/g1").status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(client.GetBytes("clip/g1/manifest.mpd").status().code(),
              absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(client.Stat("clip/g1/manifest.mpd").status().code(),
              absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(client.List().status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(client.Info().status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(client.Fetch("clip/g1/new.m4s", trusted_->address()).status().code(),
              absl::StatusCode::kUnauthenticated);
  }
  // The store holds exactly what SetUp put.
  void ExpectNothingChanged() {
    absl::StatusOr<std::vector<BlobInfo>> blobs = trusted_->List();
    ASSERT_TRUE(blobs.ok()) << blobs.status();
    ASSERT_EQ(blobs->size(), 1u);
    EXPECT_EQ(trusted_->GetBytes("clip/g1/manifest.mpd").value(), "recorded");
  }

  fs::path dir_;
  std::unique_ptr<StorageServer> server_;
  std::unique_ptr<StorageClient> trusted_;
};

TEST_F(ClusterTokenTest, CallsWithoutTheTokenAreRefusedAndChangeNothing) {
  ExpectEveryCallRefused(*ClientWithToken(""));
  ExpectNothingChanged();
}

TEST_F(ClusterTokenTest, CallsWithAWrongTokenAreRefusedAndChangeNothing) {
  ExpectEveryCallRefused(*ClientWithToken("cluster-s3creT"));
  ExpectEveryCallRefused(*ClientWithToken(std::string(kToken) + "x"));
  ExpectNothingChanged();
}

TEST_F(ClusterTokenTest, TheRightTokenIsServed) {
  EXPECT_EQ(trusted_->Info().status().code(), absl::StatusCode::kOk);
  EXPECT_EQ(trusted_->Stat("clip/g1/manifest.mpd")->size, 8u);
  EXPECT_EQ(trusted_->Delete("clip/g1/manifest.mpd").value(), 1u);
}

TEST_F(ClusterTokenTest, RefusalSaysWhichCredentialIsMissing) {
  absl::Status status = ClientWithToken("")->Info().status();
  EXPECT_THAT(std::string(status.message()), HasSubstr("missing or wrong cluster token"));
}

// Each RPC of the service, raw (no StorageClient checks in front), without a
// token: a new RPC must be added here, and must check the token.
TEST_F(ClusterTokenTest, EveryRpcChecksTheToken) {
  const google::protobuf::ServiceDescriptor* service =
      v1::PutRequest::descriptor()->file()->FindServiceByName("Storage");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->method_count(), 7) << "a new storage RPC: check the cluster token in it";

  auto stub = v1::Storage::NewStub(
      grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  auto expect_refused = [](const grpc::Status& status, const char* rpc) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << rpc;
  };
  {
    grpc::ClientContext context;
    v1::PutResponse response;
    auto writer = stub->Put(&context, &response);
    v1::PutRequest request;
    request.mutable_header()->set_key("clip/g1/x");
    writer->Write(request);
    writer->WritesDone();
    expect_refused(writer->Finish(), "Put");
  }
  {
    grpc::ClientContext context;
    v1::GetRequest request;
    request.set_key("clip/g1/manifest.mpd");
    auto reader = stub->Get(&context, request);
    v1::GetResponse response;
    EXPECT_FALSE(reader->Read(&response));
    expect_refused(reader->Finish(), "Get");
  }
  {
    grpc::ClientContext context;
    v1::ListRequest request;
    auto reader = stub->List(&context, request);
    v1::ListResponse response;
    EXPECT_FALSE(reader->Read(&response));
    expect_refused(reader->Finish(), "List");
  }
  grpc::ClientContext stat_context, delete_context, info_context;
  v1::StatRequest stat;
  stat.set_key("clip/g1/manifest.mpd");
  v1::StatResponse stat_response;
  expect_refused(stub->Stat(&stat_context, stat, &stat_response), "Stat");
  v1::DeleteRequest remove;
  remove.set_video_id("clip/g1");
  v1::DeleteResponse delete_response;
  expect_refused(stub->Delete(&delete_context, remove, &delete_response), "Delete");
  v1::InfoResponse info_response;
  expect_refused(stub->Info(&info_context, v1::InfoRequest(), &info_response), "Info");
  grpc::ClientContext fetch_context;
  v1::FetchRequest fetch;
  fetch.set_key("clip/g1/planted");
  fetch.set_source(server_->address());
  v1::FetchResponse fetch_response;
  expect_refused(stub->Fetch(&fetch_context, fetch, &fetch_response), "Fetch");
  ExpectNothingChanged();
}

// A node copying from another presents its own cluster token to it: nodes
// sharing the token copy node to node; a source with another token refuses,
// and that is reported as the source's failure.
TEST_F(ClusterTokenTest, FetchPresentsTheNodesOwnTokenToTheSource) {
  auto same = StorageServer::Start(
      {.host = "127.0.0.1", .port = 0, .dir = dir_ / "same", .cluster_token = kToken});
  ASSERT_TRUE(same.ok()) << same.status();
  StorageClientOptions options;
  options.cluster_token = kToken;
  StorageClient to_same((*same)->address(), options);
  auto fetched = to_same.Fetch("clip/g1/manifest.mpd", server_->address());
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  ASSERT_TRUE(fetched->source_error.ok()) << fetched->source_error;
  EXPECT_EQ(to_same.GetBytes("clip/g1/manifest.mpd").value_or("?"), "recorded");

  auto other = StorageServer::Start(
      {.host = "127.0.0.1", .port = 0, .dir = dir_ / "other", .cluster_token = "another-token"});
  ASSERT_TRUE(other.ok()) << other.status();
  options.cluster_token = "another-token";
  StorageClient to_other((*other)->address(), options);
  fetched = to_other.Fetch("clip/g1/manifest.mpd", server_->address());
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->source_error.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(to_other.Stat("clip/g1/manifest.mpd").status().code(), absl::StatusCode::kNotFound);
}

TEST(StorageConfigTest, NonLoopbackHostWithoutATokenIsRefused) {
  for (const char* host : {"0.0.0.0", "::", "10.1.2.3", "example.com"}) {
    absl::Status status = CheckStorageConfig({.host = host, .port = 0, .dir = "/tmp/x"});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << host;
    EXPECT_THAT(std::string(status.message()), HasSubstr("without a cluster token")) << host;
  }
  EXPECT_TRUE(
      CheckStorageConfig({.host = "0.0.0.0", .port = 0, .dir = "/tmp/x", .cluster_token = "t"})
          .ok());
  for (const char* host : {"127.0.0.1", "localhost", "::1"}) {
    EXPECT_TRUE(CheckStorageConfig({.host = host, .port = 0, .dir = "/tmp/x"}).ok()) << host;
  }
}

TEST(StorageConfigTest, OnlyOneTlsFileIsRefused) {
  absl::Status status = CheckStorageConfig(
      {.host = "127.0.0.1", .port = 0, .dir = "/tmp/x", .tls_cert_file = "cert.pem"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("--tls-key"));
  status = CheckStorageConfig(
      {.host = "127.0.0.1", .port = 0, .dir = "/tmp/x", .tls_key_file = "key.pem"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

TEST(StorageConfigTest, RefusedConfigurationStoresNothing) {
  fs::path dir = TestDir("");
  auto server = StorageServer::Start({.host = "0.0.0.0", .port = 0, .dir = dir / "store"});
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir / "store"));
  fs::remove_all(dir);
}

class StorageTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TestDir("");
    auto certificates = common::MakeTestCertificates(dir_);
    ASSERT_TRUE(certificates.ok()) << certificates.status();
    certificates_ = *certificates;
    auto server = StorageServer::Start({.host = "127.0.0.1",
                                        .port = 0,
                                        .dir = dir_ / "store",
                                        .cluster_token = kToken,
                                        .tls_cert_file = certificates_.server_cert.string(),
                                        .tls_key_file = certificates_.server_key.string()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }
  std::unique_ptr<StorageClient> Client(std::string ca_pem) {
    StorageClientOptions options;
    options.cluster_token = kToken;
    options.tls_ca_pem = std::move(ca_pem);
    options.call_timeout = std::chrono::seconds(3);
    return std::make_unique<StorageClient>(server_->address(), options);
  }
  static std::string ReadAll(const fs::path& path) {
    std::ifstream file(path);
    return std::string(std::istreambuf_iterator<char>(file), {});
  }

  fs::path dir_;
  common::TestCertificates certificates_;
  std::unique_ptr<StorageServer> server_;
};

TEST_F(StorageTlsTest, ClientTrustingTheCaIsServed) {
  auto client = Client(ReadAll(certificates_.ca_cert));
  ASSERT_TRUE(client->Put("clip/g1/a", "over tls").ok());
  EXPECT_EQ(client->GetBytes("clip/g1/a").value(), "over tls");
}

// Node to node over TLS: the destination checks the source's certificate
// against the CA its caller trusts (sent with the Fetch).
TEST_F(StorageTlsTest, FetchBetweenNodesUsesTlsWithTheCallersCa) {
  std::string ca = ReadAll(certificates_.ca_cert);
  ASSERT_TRUE(Client(ca)->Put("clip/g1/a", "over tls").ok());
  auto second = StorageServer::Start({.host = "127.0.0.1",
                                      .port = 0,
                                      .dir = dir_ / "second",
                                      .cluster_token = kToken,
                                      .tls_cert_file = certificates_.server_cert.string(),
                                      .tls_key_file = certificates_.server_key.string()});
  ASSERT_TRUE(second.ok()) << second.status();
  StorageClientOptions options;
  options.cluster_token = kToken;
  options.tls_ca_pem = ca;
  StorageClient to_second((*second)->address(), options);
  auto fetched = to_second.Fetch("clip/g1/a", server_->address());
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  ASSERT_TRUE(fetched->source_error.ok()) << fetched->source_error;
  EXPECT_EQ(to_second.GetBytes("clip/g1/a").value_or("?"), "over tls");
}

TEST_F(StorageTlsTest, PlaintextClientIsRefused) {
  EXPECT_EQ(Client("")->Put("clip/g1/a", "x").status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(StorageTlsTest, ClientTrustingAnotherCaIsRefused) {
  fs::path other = dir_ / "other";
  fs::create_directories(other);
  auto other_certificates = common::MakeTestCertificates(other);
  ASSERT_TRUE(other_certificates.ok()) << other_certificates.status();
  EXPECT_EQ(Client(ReadAll(other_certificates->ca_cert))->Put("clip/g1/a", "x").status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace dvs::storage
