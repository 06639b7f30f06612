#include "content/s3/s3_protocol.h"

#include <curl/curl.h>

#include "gtest/gtest.h"

namespace dvs::content::s3 {
namespace {

TEST(S3ProtocolTest, XmlTextDecodesEntities) {
  EXPECT_EQ(XmlText("<a><Key>x&amp;y&lt;&#65;&#x42;</Key></a>", "Key"), "x&y<AB");
  EXPECT_EQ(XmlText("<a><Key>x</Key></a>", "Missing"), std::nullopt);
  EXPECT_EQ(XmlText("<Key>unclosed", "Key"), std::nullopt);
}

TEST(S3ProtocolTest, ListPageHasContentsKeysNotCommonPrefixes) {
  absl::StatusOr<ListPage> page = ParseListPage(
      "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name><Prefix>clip/</Prefix>"
      "<IsTruncated>true</IsTruncated><NextContinuationToken>t&amp;2</NextContinuationToken>"
      "<Contents><Key>clip/a.mpd</Key><Size>3</Size></Contents>"
      "<Contents><Key>clip/b.m4s</Key></Contents>"
      "<CommonPrefixes><Prefix>clip/gen/</Prefix></CommonPrefixes></ListBucketResult>");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->keys, (std::vector<std::string>{"clip/a.mpd", "clip/b.m4s"}));
  EXPECT_EQ(page->next_token, "t&2");
}

TEST(S3ProtocolTest, ALastPageHasNoToken) {
  absl::StatusOr<ListPage> page =
      ParseListPage("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->keys.empty());
  EXPECT_FALSE(page->next_token.has_value());
}

TEST(S3ProtocolTest, ATruncatedPageWithoutTokenOrAnotherDocumentIsAnError) {
  EXPECT_FALSE(
      ParseListPage("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>").ok());
  EXPECT_FALSE(ParseListPage("<Error><Code>x</Code></Error>").ok());
}

TEST(S3ProtocolTest, CompleteBodyNumbersPartsFromOneAndEscapesEtags) {
  EXPECT_EQ(CompleteMultipartBody({"\"a\"", "\"b\""}),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag>"
            "</Part><Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
}

TEST(S3ProtocolTest, ErrorsMapToCodesCallersActOn) {
  const char* denied =
      "<Error><Code>SignatureDoesNotMatch</Code><Message>The signature is wrong</Message></Error>";
  absl::Status status = ErrorFromResponse(403, denied, "GET k");
  EXPECT_TRUE(absl::IsPermissionDenied(status));
  EXPECT_EQ(status.message(), "GET k: HTTP 403 SignatureDoesNotMatch: The signature is wrong");
  EXPECT_TRUE(absl::IsUnavailable(ErrorFromResponse(503, "", "x")));
  EXPECT_TRUE(absl::IsUnavailable(ErrorFromResponse(500, "", "x")));
  EXPECT_TRUE(absl::IsUnavailable(ErrorFromResponse(429, "", "x")));
  EXPECT_TRUE(
      absl::IsNotFound(ErrorFromResponse(404, "<Error><Code>NoSuchKey</Code></Error>", "x")));
  EXPECT_TRUE(
      absl::IsUnavailable(ErrorFromResponse(404, "<Error><Code>NoSuchBucket</Code></Error>", "x")));
  EXPECT_TRUE(absl::IsOutOfRange(ErrorFromResponse(416, "", "x")));
  EXPECT_TRUE(absl::IsDataLoss(
      ErrorFromResponse(400, "<Error><Code>XAmzContentSHA256Mismatch</Code></Error>", "x")));
  EXPECT_TRUE(absl::IsUnimplemented(ErrorFromResponse(501, "", "x")));
}

TEST(S3ProtocolTest, TransportFailuresAreUnavailableButOurOwnReadIsNot) {
  absl::Status refused = ErrorFromTransport(CURLE_COULDNT_CONNECT, "Connection refused", "GET k");
  EXPECT_TRUE(absl::IsUnavailable(refused));
  EXPECT_EQ(refused.message(), "GET k: Connection refused");
  EXPECT_TRUE(absl::IsUnavailable(ErrorFromTransport(CURLE_OPERATION_TIMEDOUT, "", "x")));
  EXPECT_TRUE(absl::IsInternal(ErrorFromTransport(CURLE_ABORTED_BY_CALLBACK, "", "x")));
}

}  // namespace
}  // namespace dvs::content::s3
