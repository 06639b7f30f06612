#include "content/s3/s3_upload.h"

#include "gtest/gtest.h"

namespace dvs::content::s3 {
namespace {

TEST(S3UploadTest, PartSizeKeepsUnderAThousandPartsAndAtLeastFiveMiB) {
  UploadOptions options{.part_size = 1 << 20};
  EXPECT_EQ(PartSizeFor(100ull << 20, options), 5ull << 20);
  options.part_size = 8ull << 20;
  EXPECT_EQ(PartSizeFor(100ull << 20, options), 8ull << 20);
  uint64_t huge = 20000ull << 20;  // 20000 MiB: 8 MiB parts would be 2500
  uint64_t part = PartSizeFor(huge, options);
  EXPECT_LE((huge + part - 1) / part, 1000u);
  EXPECT_EQ(part % (1 << 20), 0u);
}

TEST(S3UploadTest, RetriesOnlyUnavailable) {
  int calls = 0;
  absl::Status status = WithRetries(3, std::chrono::milliseconds(1), [&] {
    return ++calls < 3 ? absl::UnavailableError("down") : absl::OkStatus();
  });
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(calls, 3);

  calls = 0;
  status = WithRetries(3, std::chrono::milliseconds(1), [&] {
    ++calls;
    return absl::PermissionDeniedError("no");
  });
  EXPECT_TRUE(absl::IsPermissionDenied(status));
  EXPECT_EQ(calls, 1);

  calls = 0;
  status = WithRetries(2, std::chrono::milliseconds(1), [&] {
    ++calls;
    return absl::UnavailableError("down");
  });
  EXPECT_TRUE(absl::IsUnavailable(status));
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace dvs::content::s3
