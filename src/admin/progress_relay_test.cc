#include "admin/progress_relay.h"

#include <thread>

#include "gtest/gtest.h"

namespace dvs::admin {
namespace {

content::ClusterProgress Copying(uint64_t done) { return {"copying", done, 10, ""}; }

TEST(ProgressRelayTest, SlowConsumerGetsOnlyTheLatestUpdate) {
  ProgressRelay relay;
  relay.Publish(Copying(1));
  relay.Publish(Copying(2));
  relay.Publish(Copying(3));
  std::optional<content::ClusterProgress> next = relay.Next();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->done, 3u);
}

TEST(ProgressRelayTest, CloseDeliversThePendingUpdateThenEnds) {
  ProgressRelay relay;
  relay.Publish(Copying(4));
  relay.Close();
  ASSERT_TRUE(relay.Next().has_value());
  EXPECT_FALSE(relay.Next().has_value());
}

TEST(ProgressRelayTest, NextWaitsForAPublisherOnAnotherThread) {
  ProgressRelay relay;
  std::thread publisher([&] {
    relay.Publish(Copying(5));
    relay.Close();
  });
  std::optional<content::ClusterProgress> next = relay.Next();
  publisher.join();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->done, 5u);
}

}  // namespace
}  // namespace dvs::admin
