#include "web/tus_protocol.h"

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dvs::web::tus {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(TusParseCount, TakesPlainDecimalNumbers) {
  EXPECT_EQ(*ParseCount("0", "Upload-Offset"), 0u);
  EXPECT_EQ(*ParseCount("31457280", "Upload-Offset"), 31457280u);
}

TEST(TusParseCount, RefusesSignsSpacesHugeAndMissing) {
  for (const char* bad : {"", "-1", "+5", " 5", "5 ", "1e6", "0x10", "99999999999999999999"}) {
    EXPECT_EQ(ParseCount(bad, "Upload-Offset").status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(ParseCount(std::nullopt, "Upload-Length").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TusParseMetadata, DecodesPairsAndKeysWithoutValues) {
  std::string header = "filename " + absl::Base64Escape("clip one.mp4") + ",private,visibility " +
                       absl::Base64Escape("unlisted");
  absl::StatusOr<std::map<std::string, std::string>> pairs = ParseMetadata(header);
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  EXPECT_THAT(*pairs, ElementsAre(Pair("filename", "clip one.mp4"), Pair("private", ""),
                                  Pair("visibility", "unlisted")));
  EXPECT_TRUE(ParseMetadata("")->empty());
}

TEST(TusParseMetadata, RefusesBadBase64DuplicatesAndEmptyKeys) {
  EXPECT_FALSE(ParseMetadata("filename not*base64").ok());
  EXPECT_FALSE(ParseMetadata("a YQ==,a Yg==").ok());
  EXPECT_FALSE(ParseMetadata("a YQ==,,b Yg==").ok());
}

TEST(TusParseChecksum, TakesSha1AndSha256OfTheRightLength) {
  std::string sha1(20, 'x');
  absl::StatusOr<Checksum> parsed = ParseChecksum("sha1 " + absl::Base64Escape(sha1));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->algorithm, Algorithm::kSha1);
  EXPECT_EQ(parsed->digest, sha1);
  parsed = ParseChecksum("sha256 " + absl::Base64Escape(std::string(32, 'y')));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->algorithm, Algorithm::kSha256);
}

TEST(TusParseChecksum, RefusesOtherAlgorithmsAndWrongLengths) {
  EXPECT_FALSE(ParseChecksum("md5 " + absl::Base64Escape(std::string(16, 'x'))).ok());
  EXPECT_FALSE(ParseChecksum("sha1 " + absl::Base64Escape(std::string(32, 'x'))).ok());
  EXPECT_FALSE(ParseChecksum("sha256").ok());
}

TEST(TusChunkDigest, GivesTheKnownDigestsOfAbc) {
  ChunkDigest sha1(Algorithm::kSha1);
  sha1.Update("a");
  sha1.Update("bc");
  EXPECT_EQ(absl::BytesToHexString(sha1.Final()), "a9993e364706816aba3e25717850c26c9cd0d89d");
  ChunkDigest sha256(Algorithm::kSha256);
  sha256.Update("abc");
  EXPECT_EQ(absl::BytesToHexString(sha256.Final()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TusHttpDate, FormatsAnInstantInGmt) {
  EXPECT_EQ(HttpDate(784111777000), "Sun, 06 Nov 1994 08:49:37 GMT");
}

}  // namespace
}  // namespace dvs::web::tus
