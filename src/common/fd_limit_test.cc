#include "common/fd_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>

namespace dvs::common {
namespace {

TEST(FdLimitTest, RequestThatFitsIsKept) {
  EXPECT_EQ(ConnectionsThatFit(4096, 1 << 20, ReservedFds(1)), 4096u);
}

TEST(FdLimitTest, ConnectionsAreClampedToTwoDescriptorsEachAfterTheReserve) {
  // 1024 descriptors, 264 reserved for one job slot: (1024 - 264) / 2.
  EXPECT_EQ(ReservedFds(1), 264u);
  EXPECT_EQ(ConnectionsThatFit(4096, 1024, ReservedFds(1)), 380u);
}

TEST(FdLimitTest, MoreJobSlotsReserveMore) {
  EXPECT_EQ(ReservedFds(4) - ReservedFds(0), 4 * kReservedFdsPerJob);
  EXPECT_LT(ConnectionsThatFit(4096, 1024, ReservedFds(8)),
            ConnectionsThatFit(4096, 1024, ReservedFds(1)));
}

TEST(FdLimitTest, ALimitBelowTheReserveStillLeavesTheMinimum) {
  EXPECT_EQ(ConnectionsThatFit(4096, 100, ReservedFds(1)), kMinConnections);
  // ... but never more than was asked for.
  EXPECT_EQ(ConnectionsThatFit(4, 100, ReservedFds(1)), 4u);
}

TEST(FdLimitTest, RaisingSetsTheSoftLimitToTheHardOne) {
  struct rlimit before {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  struct rlimit lowered = before;
  lowered.rlim_cur = std::min<rlim_t>(before.rlim_max, 256);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  absl::StatusOr<FileLimit> raised = RaiseFileLimit();
  ASSERT_TRUE(raised.ok()) << raised.status();
  if (before.rlim_max != RLIM_INFINITY) {
    EXPECT_EQ(raised->soft, before.rlim_max);
    EXPECT_EQ(raised->soft, raised->hard);
  } else {
    EXPECT_GT(raised->soft, lowered.rlim_cur);
  }
  absl::StatusOr<FileLimit> now = CurrentFileLimit();
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->soft, raised->soft);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &before), 0);
}

}  // namespace
}  // namespace dvs::common
