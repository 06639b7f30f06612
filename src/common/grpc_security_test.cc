#include "common/grpc_security.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

namespace dvs::common {
namespace {

using ::testing::HasSubstr;

// gRPC fills client_metadata() only from the wire: right and wrong tokens are
// tried through real calls in storage_security_test and admin_service_test.
// Here, the parts that need no call.
TEST(BearerCheckTest, NoTokenMeansNoneRequired) {
  EXPECT_FALSE(BearerCheck("", "cluster token").required());
  EXPECT_TRUE(BearerCheck("s3cret", "cluster token").required());
  grpc::ServerContext context;
  EXPECT_TRUE(BearerCheck("", "cluster token").Check(context).ok());
}

TEST(BearerCheckTest, CallWithoutMetadataIsRefusedNamingTheToken) {
  grpc::ServerContext context;
  grpc::Status status = BearerCheck("s3cret", "cluster token").Check(context);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("cluster token"));
}

TEST(ServerCredentialsForTest, OnlyOneOfCertAndKeyIsRefused) {
  EXPECT_EQ(ServerCredentialsFor("cert.pem", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ServerCredentialsFor("", "key.pem").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ServerCredentialsFor("", "").ok());
}

TEST(ServerCredentialsForTest, UnreadableFileIsRefusedNamingTheFlag) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ServerCredentialsFor("/nonexistent/cert.pem", "/nonexistent/key.pem");
  EXPECT_EQ(credentials.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(credentials.status().message()), HasSubstr("--tls-cert"));
}

}  // namespace
}  // namespace dvs::common
