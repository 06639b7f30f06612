// EtcdLock against a real 3-member etcd cluster: one holder at a time, across
// clients (as across processes), and a holder's lease is what keeps it.
#include "metadata/etcd/etcd_lock.h"

#include <chrono>
#include <thread>

#include "gtest/gtest.h"
#include "metadata/etcd/etcd_test_cluster.h"

namespace dvs::metadata {
namespace {

constexpr char kKey[] = "/dvs/ring-lock";
constexpr std::chrono::seconds kShortTtl{2};

class EtcdLockTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new EtcdTestCluster(3);
    start_status_ = new absl::Status(cluster_->Start());
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete start_status_;
  }
  void SetUp() override { ASSERT_TRUE(start_status_->ok()) << *start_status_; }
  void TearDown() override { (void)cluster_->NewClient()->Delete(kKey); }

  // Each lock has its own client, like two `dvs web` processes.
  static EtcdLock NewLock(std::chrono::seconds ttl = EtcdLock::kDefaultTtl) {
    return EtcdLock(cluster_->NewClient(), kKey, ttl);
  }

  static EtcdTestCluster* cluster_;
  static absl::Status* start_status_;
};

EtcdTestCluster* EtcdLockTest::cluster_ = nullptr;
absl::Status* EtcdLockTest::start_status_ = nullptr;

TEST_F(EtcdLockTest, SecondAcquirerGetsFailedPreconditionNamingTheChange) {
  EtcdLock first = NewLock(), second = NewLock();
  absl::StatusOr<std::unique_ptr<EtcdLock::Held>> held = first.TryAcquire("add 10.0.0.4:8090");
  ASSERT_TRUE(held.ok()) << held.status();
  absl::StatusOr<std::unique_ptr<EtcdLock::Held>> refused = second.TryAcquire("remove 10.0.0.5");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("add 10.0.0.4:8090"), absl::string_view::npos)
      << refused.status();
}

TEST_F(EtcdLockTest, ReleasedLockCanBeTakenAgain) {
  EtcdLock first = NewLock(), second = NewLock();
  absl::StatusOr<std::unique_ptr<EtcdLock::Held>> held = first.TryAcquire("one");
  ASSERT_TRUE(held.ok()) << held.status();
  held->reset();
  absl::StatusOr<std::unique_ptr<EtcdLock::Held>> again = second.TryAcquire("two");
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST_F(EtcdLockTest, HeldLockOutlivesItsTtlWhileKeptAlive) {
  EtcdLock first = NewLock(kShortTtl), second = NewLock(kShortTtl);
  absl::StatusOr<std::unique_ptr<EtcdLock::Held>> held = first.TryAcquire("long change");
  ASSERT_TRUE(held.ok()) << held.status();
  std::this_thread::sleep_for(2 * kShortTtl);
  EXPECT_FALSE((*held)->lost());
  EXPECT_EQ(second.TryAcquire("other").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(EtcdLockTest, CrashedHoldersLockExpiresWithItsLease) {
  // What a holder that died leaves behind: its key on a lease nobody renews.
  std::shared_ptr<EtcdClient> crashed = cluster_->NewClient();
  absl::StatusOr<int64_t> lease = crashed->GrantLease(kShortTtl);
  ASSERT_TRUE(lease.ok()) << lease.status();
  ASSERT_TRUE(crashed->PutIfAbsent(kKey, "dead change", *lease).ok());
  EtcdLock lock = NewLock();
  EXPECT_EQ(lock.TryAcquire("next").status().code(), absl::StatusCode::kFailedPrecondition);
  std::this_thread::sleep_for(kShortTtl + std::chrono::milliseconds(1500));
  absl::StatusOr<std::unique_ptr<EtcdLock::Held>> held = lock.TryAcquire("next");
  EXPECT_TRUE(held.ok()) << held.status();
}

TEST_F(EtcdLockTest, HolderWhoseLeaseIsRevokedLosesItAndReleasingThenLeavesTheNewHolder) {
  EtcdLock first = NewLock(kShortTtl), second = NewLock(), third = NewLock();
  absl::StatusOr<std::unique_ptr<EtcdLock::Held>> held = first.TryAcquire("one");
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_TRUE(cluster_->NewClient()->RevokeLease((*held)->lease_id()).ok());
  absl::StatusOr<std::unique_ptr<EtcdLock::Held>> taken = second.TryAcquire("two");
  ASSERT_TRUE(taken.ok()) << taken.status();
  // The first holder notices at its next renewal (a third of the TTL).
  for (int i = 0; i < 30 && !(*held)->lost(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE((*held)->lost());
  held->reset();  // must not release the second holder's lock
  absl::StatusOr<std::unique_ptr<EtcdLock::Held>> refused = third.TryAcquire("three");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("two"), absl::string_view::npos) << refused.status();
}

// The fence of ring-state writes: a holder whose lease lapsed (here revoked,
// as etcd does when renewals stop) and whose lock another holder took can no
// longer write, even before it notices; the new holder can.
TEST_F(EtcdLockTest, FencedPutIsRefusedAfterTheLockMovedToAnotherHolder) {
  constexpr char kGuarded[] = "/dvs/ring-fenced-test";
  std::shared_ptr<EtcdClient> client = cluster_->NewClient();
  EtcdLock first = NewLock(), second = NewLock();
  absl::StatusOr<std::unique_ptr<EtcdLock::Held>> old_holder = first.TryAcquire("one");
  ASSERT_TRUE(old_holder.ok()) << old_holder.status();
  absl::StatusOr<EtcdClient::WriteResult> put =
      client->PutIfLeaseHolds(kGuarded, "transition", first.key(), (*old_holder)->lease_id());
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(put->written);

  ASSERT_TRUE(cluster_->NewClient()->RevokeLease((*old_holder)->lease_id()).ok());
  absl::StatusOr<std::unique_ptr<EtcdLock::Held>> new_holder = second.TryAcquire("two");
  ASSERT_TRUE(new_holder.ok()) << new_holder.status();

  put = client->PutIfLeaseHolds(kGuarded, "stale commit", first.key(), (*old_holder)->lease_id());
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_FALSE(put->written);
  absl::StatusOr<std::optional<EtcdClient::Value>> stored = client->Get(kGuarded);
  ASSERT_TRUE(stored.ok() && stored->has_value()) << stored.status();
  EXPECT_EQ((*stored)->value, "transition");

  put = client->PutIfLeaseHolds(kGuarded, "abort", second.key(), (*new_holder)->lease_id());
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(put->written);
  (void)client->Delete(kGuarded);
}

}  // namespace
}  // namespace dvs::metadata
