#include "http/range.h"

#include <gtest/gtest.h>

namespace dvs::http {
namespace {

std::optional<ResolvedRange> Resolve(std::string_view header, uint64_t size) {
  absl::StatusOr<std::optional<ResolvedRange>> result = ResolveRange(header, size);
  EXPECT_TRUE(result.ok()) << header << ": " << result.status();
  return result.ok() ? *result : std::nullopt;
}

absl::StatusCode ErrorCode(std::string_view header, uint64_t size) {
  return ResolveRange(header, size).status().code();
}

TEST(RangeTest, NoHeaderMeansWholeFile) {
  absl::StatusOr<std::optional<ResolvedRange>> result = ResolveRange(std::nullopt, 100);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->has_value());
}

TEST(RangeTest, ClosedRange) {
  EXPECT_EQ(Resolve("bytes=0-99", 1000), (ResolvedRange{0, 100}));
  EXPECT_EQ(Resolve("bytes=500-500", 1000), (ResolvedRange{500, 1}));
}

TEST(RangeTest, LastPositionPastTheEndIsClamped) {
  EXPECT_EQ(Resolve("bytes=900-5000", 1000), (ResolvedRange{900, 100}));
  EXPECT_EQ(Resolve("bytes=0-99999999999999999999999", 10), (ResolvedRange{0, 10}));
}

TEST(RangeTest, OpenEndedRange) {
  EXPECT_EQ(Resolve("bytes=100-", 1000), (ResolvedRange{100, 900}));
  EXPECT_EQ(Resolve("bytes=999-", 1000), (ResolvedRange{999, 1}));
}

TEST(RangeTest, SuffixRange) {
  EXPECT_EQ(Resolve("bytes=-100", 1000), (ResolvedRange{900, 100}));
  EXPECT_EQ(Resolve("bytes=-5000", 1000), (ResolvedRange{0, 1000}));
}

TEST(RangeTest, UnitIsCaseInsensitive) {
  EXPECT_EQ(Resolve("Bytes=0-1", 10), (ResolvedRange{0, 2}));
}

TEST(RangeTest, ToleratesWhitespace) {
  EXPECT_EQ(Resolve("  bytes = 1 - 2 ", 10), (ResolvedRange{1, 2}));
  EXPECT_EQ(Resolve("bytes=\t-3", 10), (ResolvedRange{7, 3}));
}

TEST(RangeTest, FirstPositionAtOrPastTheEndIsUnsatisfiable) {
  EXPECT_EQ(ErrorCode("bytes=1000-", 1000), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorCode("bytes=1000-2000", 1000), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorCode("bytes=99999999999999999999999-", 1000), absl::StatusCode::kOutOfRange);
}

TEST(RangeTest, EmptySuffixIsUnsatisfiable) {
  EXPECT_EQ(ErrorCode("bytes=-0", 1000), absl::StatusCode::kOutOfRange);
}

TEST(RangeTest, AnyRangeOfAnEmptyFileIsUnsatisfiable) {
  EXPECT_EQ(ErrorCode("bytes=0-", 0), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorCode("bytes=0-0", 0), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ErrorCode("bytes=-1", 0), absl::StatusCode::kOutOfRange);
}

TEST(RangeTest, OtherUnitsAreIgnored) {
  for (std::string_view header : {"", "items=0-1", "bytes 0-1", "pages=1-2,3-4"}) {
    EXPECT_FALSE(Resolve(header, 1000).has_value()) << header;
  }
}

TEST(RangeTest, MalformedByteRangesAreNotSatisfiable) {
  for (std::string_view header :
       {"bytes", "bytes=", "bytes=,", "bytes=-", "bytes=abc", "bytes=5-1", "bytes=1-2-3",
        "bytes=+1-2", "bytes=0x10-", "bytes=1", "bytes=0-1,abc", "bytes=--1", "bytes=1--2"}) {
    EXPECT_EQ(ErrorCode(header, 1000), absl::StatusCode::kOutOfRange) << header;
  }
}

TEST(RangeTest, OverlappingOrTouchingRangesMergeIntoOne) {
  EXPECT_EQ(Resolve("bytes=0-5,3-8", 1000), (ResolvedRange{0, 9}));
  EXPECT_EQ(Resolve("bytes=10-19,0-9", 1000), (ResolvedRange{0, 20}));
  EXPECT_EQ(Resolve("bytes=0-0,0-0,0-0", 1000), (ResolvedRange{0, 1}));
  EXPECT_EQ(Resolve("bytes=-10,990-", 1000), (ResolvedRange{990, 10}));
  EXPECT_EQ(Resolve("bytes=0-1,,2-3, ,", 1000), (ResolvedRange{0, 4}));
}

TEST(RangeTest, DisjointRangesMeanWholeFile) {
  EXPECT_FALSE(Resolve("bytes=0-1,3-4", 1000).has_value());
  EXPECT_FALSE(Resolve("bytes=0-0,-1", 1000).has_value());
}

TEST(RangeTest, UnsatisfiableRangesBesideASatisfiableOneAreDropped) {
  EXPECT_EQ(Resolve("bytes=5000-6000,0-9", 1000), (ResolvedRange{0, 10}));
  EXPECT_EQ(ErrorCode("bytes=5000-6000,-0", 1000), absl::StatusCode::kOutOfRange);
}

TEST(RangeTest, TooManyRangesAreRefused) {
  std::string header = "bytes=0-0";
  for (int i = 0; i < 100; ++i) header += ",0-0";
  EXPECT_EQ(ErrorCode(header, 1000), absl::StatusCode::kOutOfRange);
}

TEST(RangeTest, ContentRangeValue) {
  EXPECT_EQ(ContentRangeValue(ResolvedRange{0, 100}, 1000), "bytes 0-99/1000");
  EXPECT_EQ(ContentRangeValue(ResolvedRange{999, 1}, 1000), "bytes 999-999/1000");
}

}  // namespace
}  // namespace dvs::http
