#include "common/grpc_status.h"

#include <gtest/gtest.h>

#include "common/strings.h"

namespace dvs::common {
namespace {

TEST(GrpcStatusTest, EveryCanonicalCodeSurvivesARoundTrip) {
  for (int code = 1; code <= 16; ++code) {
    absl::Status original(static_cast<absl::StatusCode>(code), "why it failed");
    grpc::Status wire = ToGrpcStatus(original);
    EXPECT_EQ(static_cast<int>(wire.error_code()), code);
    EXPECT_EQ(wire.error_message(), "why it failed");
    EXPECT_EQ(FromGrpcStatus(wire), original);
  }
}

TEST(GrpcStatusTest, NamedCodesMatchAcrossLibraries) {
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("x")).error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(ToGrpcStatus(absl::DataLossError("x")).error_code(), grpc::DATA_LOSS);
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::UNAVAILABLE, "down")).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::UNAUTHENTICATED, "who")).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(GrpcStatusTest, OkMapsToOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(GrpcStatusTest, UnknownWireCodeBecomesUnknown) {
  // 17 is the next code a newer peer could send. grpc::StatusCode has no fixed
  // underlying type, so its values stop at 31: casting anything larger to it is
  // undefined behaviour (UBSan reports it) before our code ever sees it.
  grpc::Status strange(static_cast<grpc::StatusCode>(17), "from the future");
  EXPECT_EQ(FromGrpcStatus(strange).code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(AsStd(FromGrpcStatus(strange).message()), "from the future");
}

}  // namespace
}  // namespace dvs::common
