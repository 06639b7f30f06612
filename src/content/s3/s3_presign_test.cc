#include "content/s3/s3_presign.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"

namespace dvs::content::s3 {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

// 2013-05-24T00:00:00Z.
system_clock::time_point May24th2013() { return system_clock::from_time_t(1369353600); }

const S3Credentials kExampleCredentials{.access_key = "AKIAIOSFODNN7EXAMPLE",
                                        .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                        .region = "us-east-1"};

TEST(PresignTest, MatchesTheExampleOfTheAwsDocumentation) {
  // "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)".
  PresignTarget target{.origin = "https://examplebucket.s3.amazonaws.com",
                       .host = "examplebucket.s3.amazonaws.com",
                       .path = "/test.txt"};
  Presigned presigned = PresignGet(target, kExampleCredentials, May24th2013(), seconds(86400));
  EXPECT_EQ(presigned.signature,
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  EXPECT_EQ(presigned.url,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(PresignTest, AnyChangeOfTimeKeyOrPathChangesTheSignature) {
  PresignTarget target{.origin = "http://h", .host = "h", .path = "/b/k"};
  const std::string base =
      PresignGet(target, kExampleCredentials, May24th2013(), seconds(60)).signature;
  EXPECT_NE(
      PresignGet(target, kExampleCredentials, May24th2013() + seconds(1), seconds(60)).signature,
      base);
  EXPECT_NE(PresignGet(target, kExampleCredentials, May24th2013(), seconds(61)).signature, base);
  S3Credentials other = kExampleCredentials;
  other.secret_key += "x";
  EXPECT_NE(PresignGet(target, other, May24th2013(), seconds(60)).signature, base);
  target.path = "/b/k2";
  EXPECT_NE(PresignGet(target, kExampleCredentials, May24th2013(), seconds(60)).signature, base);
}

TEST(PresignTest, ExpiryIsHeldToSevenDays) {
  PresignTarget target{.origin = "http://h", .host = "h", .path = "/b/k"};
  Presigned presigned = PresignGet(target, kExampleCredentials, May24th2013(), seconds(30 * 86400));
  EXPECT_TRUE(absl::StrContains(presigned.url, "X-Amz-Expires=604800&"));
}

TEST(PresignTest, TargetIsPathStyleWithTheKeyEncodedAndNoDefaultPort) {
  S3Location location{.endpoint = "https://s3.example.com:443", .bucket = "videos", .prefix = ""};
  PresignTarget target = TargetOf(location, "site a/v1/g/chunk 1.m4s");
  EXPECT_EQ(target.host, "s3.example.com");
  EXPECT_EQ(target.origin, "https://s3.example.com:443");
  EXPECT_EQ(target.path, "/videos/site%20a/v1/g/chunk%201.m4s");
  location.endpoint = "http://127.0.0.1:9000";
  EXPECT_EQ(TargetOf(location, "k").host, "127.0.0.1:9000");
}

TEST(PresignTest, AmzDateIsUtcBasicFormat) {
  EXPECT_EQ(AmzDate(May24th2013() + seconds(3723)), "20130524T010203Z");
}

}  // namespace
}  // namespace dvs::content::s3
