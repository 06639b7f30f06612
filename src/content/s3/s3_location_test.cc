#include "content/s3/s3_location.h"

#include "gtest/gtest.h"

namespace dvs::content::s3 {
namespace {

TEST(S3LocationTest, ParsesEndpointBucketAndPrefix) {
  absl::StatusOr<S3Location> location =
      S3Location::Parse("https://s3.example.com:8443/videos/a/b/");
  ASSERT_TRUE(location.ok()) << location.status();
  EXPECT_EQ(location->endpoint, "https://s3.example.com:8443");
  EXPECT_EQ(location->bucket, "videos");
  EXPECT_EQ(location->prefix, "a/b/");
  EXPECT_EQ(location->Describe(), "https://s3.example.com:8443/videos/a/b");
}

TEST(S3LocationTest, ABucketAloneHasNoPrefix) {
  absl::StatusOr<S3Location> location = S3Location::Parse("http://127.0.0.1:9000/videos");
  ASSERT_TRUE(location.ok()) << location.status();
  EXPECT_EQ(location->prefix, "");
  EXPECT_EQ(location->KeyOf("clip/0123abcd", "seg-1.m4s"), "clip/0123abcd/seg-1.m4s");
  EXPECT_EQ(location->Url("clip/a.mpd"), "http://127.0.0.1:9000/videos/clip/a.mpd");
}

TEST(S3LocationTest, RefusesWhatIsNotAnHttpBucketUrl) {
  for (const char* bad :
       {"s3://bucket", "ftp://host/bucket", "http://host", "http://host/", "http:///bucket",
        "http://user@host/bucket", "http://host/b/../x", "http://host/b//x", "http://host/b?x=1",
        "http://host/b/a b", "127.0.0.1:9000/bucket"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(S3Location::Parse(bad).status())) << bad;
  }
}

TEST(S3LocationTest, KeysOfAFolderShareItsPrefix) {
  S3Location location = *S3Location::Parse("http://h/b/dvs");
  EXPECT_EQ(location.FolderPrefix("clip"), "dvs/clip/");
  EXPECT_TRUE(location.KeyOf("clip", "x.mpd").starts_with(location.FolderPrefix("clip")));
}

TEST(S3LocationTest, UriEncodeKeepsOnlyUnreservedBytes) {
  EXPECT_EQ(UriEncode("a-Z_0.~", false), "a-Z_0.~");
  EXPECT_EQ(UriEncode("a/b c+d=", false), "a%2Fb%20c%2Bd%3D");
  EXPECT_EQ(UriEncode("a/b c", true), "a/b%20c");
  EXPECT_EQ(UriEncode("\xc3\xa9", false), "%C3%A9");
}

TEST(S3LocationTest, CanonicalQueryIsSortedEncodedAndAlwaysHasEquals) {
  EXPECT_EQ(CanonicalQuery({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQuery({{"prefix", "dvs/clip/"}, {"list-type", "2"}, {"delimiter", "/"}}),
            "delimiter=%2F&list-type=2&prefix=dvs%2Fclip%2F");
  S3Location location = *S3Location::Parse("http://h/b");
  EXPECT_EQ(location.Url("k", {{"uploadId", "x y"}, {"partNumber", "2"}}),
            "http://h/b/k?partNumber=2&uploadId=x%20y");
}

}  // namespace
}  // namespace dvs::content::s3
