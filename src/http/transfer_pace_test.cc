#include "http/transfer_pace.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dvs::http {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

const TransferPace::Clock::time_point kStart{seconds(1000)};

TEST(TransferPaceTest, ASteadySenderAboveTheMinimumPasses) {
  TransferPace pace({.min_bytes_per_s = 1000, .window = seconds(10)}, kStart);
  for (int s = 1; s <= 60; ++s) {
    EXPECT_TRUE(pace.Update(1500, kStart + seconds(s)).ok()) << "at " << s << " s";
  }
}

TEST(TransferPaceTest, ATrickleFailsWhenItsWindowCloses) {
  TransferPace pace({.min_bytes_per_s = 1000, .window = seconds(10)}, kStart);
  // One byte a second: nothing is judged until the window is over.
  for (int s = 1; s < 10; ++s) ASSERT_TRUE(pace.Update(1, kStart + seconds(s)).ok());
  absl::Status status = pace.Update(1, kStart + seconds(10));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("too slow: 10 bytes in 10.0 s"));
}

TEST(TransferPaceTest, AFastStartDoesNotPayForALaterStall) {
  // Windows are judged one by one: 1 MB in the first does not cover the second.
  TransferPace pace({.min_bytes_per_s = 1000, .window = seconds(10)}, kStart);
  ASSERT_TRUE(pace.Update(1'000'000, kStart + seconds(10)).ok());
  ASSERT_TRUE(pace.Update(100, kStart + seconds(15)).ok());
  EXPECT_FALSE(pace.Update(100, kStart + seconds(20)).ok());
}

TEST(TransferPaceTest, ALongGapIsJudgedOverItsWholeLength) {
  // 25 s with 20 kB: 800 bytes/s, under 1000 although it came in one read.
  TransferPace pace({.min_bytes_per_s = 1000, .window = seconds(10)}, kStart);
  EXPECT_FALSE(pace.Update(20'000, kStart + seconds(25)).ok());
}

TEST(TransferPaceTest, NoMinimumMeansNoRateCheck) {
  TransferPace pace({.min_bytes_per_s = 0, .window = seconds(1)}, kStart);
  EXPECT_TRUE(pace.Update(0, kStart + seconds(3600)).ok());
}

TEST(TransferPaceTest, TheDeadlineEndsEvenAFastTransfer) {
  TransferPace pace({.min_bytes_per_s = 1, .window = seconds(1), .deadline = seconds(30)}, kStart);
  ASSERT_TRUE(pace.Update(1 << 20, kStart + seconds(30)).ok());
  absl::Status status = pace.Update(1 << 20, kStart + seconds(31));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("longer than its limit of 30.0 s"));
}

}  // namespace
}  // namespace dvs::http
