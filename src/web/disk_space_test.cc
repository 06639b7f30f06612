#include "web/disk_space.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/status.h"

namespace dvs::web {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kMiB = 1 << 20;

TEST(DiskSpaceTest, WhatFitsAboveTheReserveIsAccepted) {
  EXPECT_TRUE(SpaceVerdict(1000 * kMiB, 700 * kMiB, 300 * kMiB, "/w").ok());
}

TEST(DiskSpaceTest, WhatWouldEatIntoTheReserveIs507WithTheNumbers) {
  absl::Status status = SpaceVerdict(1000 * kMiB, 701 * kMiB, 300 * kMiB, "/w");
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);  // jobs retry it
  EXPECT_EQ(common::HttpStatusOf(status), 507);
  EXPECT_THAT(status.message(), HasSubstr("701.0 MiB needed in /w, 1000.0 MiB free"));
}

TEST(DiskSpaceTest, ADiskAlreadyUnderTheReserveRefusesEvenNothing) {
  absl::Status status = SpaceVerdict(100 * kMiB, 0, 300 * kMiB, "/w");
  EXPECT_EQ(common::HttpStatusOf(status), 507);
  EXPECT_THAT(status.message(), HasSubstr("100.0 MiB free in /w, under the 300.0 MiB kept free"));
}

TEST(DiskSpaceTest, OtherResourceExhaustedErrorsStay429) {
  EXPECT_EQ(common::HttpStatusOf(absl::ResourceExhaustedError("too many uploads")), 429);
}

TEST(DiskSpaceTest, AnUploadNeedsItsLengthTwiceAndAnUnknownLengthNothing) {
  EXPECT_EQ(UploadNeeds(10 * kMiB), 20 * kMiB);
  EXPECT_EQ(UploadNeeds(std::nullopt), 0u);
  EXPECT_EQ(UploadNeeds(UINT64_MAX - 1), UINT64_MAX);  // no overflow
}

TEST(DiskSpaceTest, FreeBytesOfAFolderNotYetMadeIsItsParents) {
  absl::StatusOr<uint64_t> parent = FreeBytes("/tmp");
  absl::StatusOr<uint64_t> missing = FreeBytes("/tmp/no-such-folder-dvs/uploads");
  ASSERT_TRUE(parent.ok());
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_GT(*missing, 0u);
}

}  // namespace
}  // namespace dvs::web
