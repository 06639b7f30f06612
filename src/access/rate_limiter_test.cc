#include "access/rate_limiter.h"

#include "absl/strings/str_cat.h"
#include "access/test_store.h"
#include "gtest/gtest.h"

namespace dvs::access {
namespace {

using testing::FakeClock;

TEST(LoginLimiterTest, FiveFailuresOfOneUserBlockItUntilTheWindowPasses) {
  FakeClock clock;
  LoginLimiter limiter({.max_failures = 5, .window_ms = 60'000}, clock.AsFunction());
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(limiter.RetryAfterS("alice", "10.0.0.1").has_value()) << i;
    limiter.RecordFailure("alice", absl::StrCat("10.0.0.", i));
    clock.Advance(1000);
  }
  // Blocked for this user from any address, until the first failure is 60 s old.
  std::optional<int64_t> wait = limiter.RetryAfterS("alice", "10.9.9.9");
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, 55);
  EXPECT_FALSE(limiter.RetryAfterS("bob", "10.9.9.9").has_value());
  clock.Advance(55'000);
  EXPECT_FALSE(limiter.RetryAfterS("alice", "10.9.9.9").has_value());
}

TEST(LoginLimiterTest, FiveFailuresFromOneAddressBlockItForEveryName) {
  FakeClock clock;
  LoginLimiter limiter({.max_failures = 5, .window_ms = 60'000}, clock.AsFunction());
  for (int i = 0; i < 5; ++i) limiter.RecordFailure(absl::StrCat("user", i), "10.0.0.7");
  EXPECT_TRUE(limiter.RetryAfterS("someone-else", "10.0.0.7").has_value());
  EXPECT_FALSE(limiter.RetryAfterS("someone-else", "10.0.0.8").has_value());
}

TEST(LoginLimiterTest, FailuresOutsideTheWindowDoNotCount) {
  FakeClock clock;
  LoginLimiter limiter({.max_failures = 3, .window_ms = 10'000}, clock.AsFunction());
  for (int i = 0; i < 10; ++i) {
    limiter.RecordFailure("alice", "a");
    clock.Advance(5'000);
  }
  // Two failures in any 10 s: never three.
  EXPECT_FALSE(limiter.RetryAfterS("alice", "a").has_value());
}

TEST(LoginLimiterTest, HugeNamesAreCountedByTheirFirstCharacters) {
  FakeClock clock;
  LoginLimiter limiter({.max_failures = 2, .window_ms = 10'000}, clock.AsFunction());
  std::string huge(1 << 20, 'n');
  limiter.RecordFailure(huge, "a");
  limiter.RecordFailure(huge + "x", "b");
  EXPECT_TRUE(limiter.RetryAfterS(huge + "y", "c").has_value());
}

TEST(LoginLimiterTest, StaysWithinItsKeyLimit) {
  FakeClock clock;
  LoginLimiter limiter({.max_failures = 2, .window_ms = 10'000, .max_keys = 10},
                       clock.AsFunction());
  for (int i = 0; i < 1000; ++i) limiter.RecordFailure(absl::StrCat("u", i), absl::StrCat("a", i));
  // Old entries were dropped to make room; new failures still count.
  limiter.RecordFailure("last", "y");
  limiter.RecordFailure("last", "y");
  EXPECT_TRUE(limiter.RetryAfterS("last", "z").has_value());
  EXPECT_FALSE(limiter.RetryAfterS("u0", "z").has_value());
}

}  // namespace
}  // namespace dvs::access
