// EtcdClient::WatchKey against a real 3-member cluster: it delivers the value
// at start and every later change in order, survives the death of the member
// it streams from, and stops cleanly.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "metadata/etcd/etcd_test_cluster.h"

namespace dvs::metadata {
namespace {

using std::chrono::milliseconds;

// What a watch delivered, for a test to wait on.
class Seen {
 public:
  void Add(const std::optional<std::string>& value) {
    std::lock_guard lock(mutex_);
    values_.push_back(value.value_or("<deleted>"));
    changed_.notify_all();
  }
  // Waits until the last value delivered is `value`.
  bool WaitForLast(const std::string& value, milliseconds timeout = milliseconds(10000)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout,
                             [&] { return !values_.empty() && values_.back() == value; });
  }
  std::vector<std::string> values() {
    std::lock_guard lock(mutex_);
    return values_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> values_;
};

TEST(EtcdWatchTest, DeliversTheCurrentValueThenEveryChangeInOrder) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> client = cluster.NewClient();
  ASSERT_TRUE(client->Put("/t/ring", "v1").ok());
  Seen seen;
  std::unique_ptr<EtcdClient::Watch> watch =
      client->WatchKey("/t/ring", [&](const std::optional<std::string>& v) { seen.Add(v); });
  ASSERT_TRUE(seen.WaitForLast("v1"));
  // Another process's client: the watch sees its writes, not just ours.
  std::shared_ptr<EtcdClient> other = cluster.NewClient();
  for (int i = 2; i <= 5; ++i) ASSERT_TRUE(other->Put("/t/ring", absl::StrCat("v", i)).ok());
  ASSERT_TRUE(other->Put("/t/other", "unrelated").ok());
  ASSERT_TRUE(seen.WaitForLast("v5"));
  EXPECT_EQ(seen.values(), (std::vector<std::string>{"v1", "v2", "v3", "v4", "v5"}));
  ASSERT_TRUE(other->Delete("/t/ring").ok());
  EXPECT_TRUE(seen.WaitForLast("<deleted>"));
}

TEST(EtcdWatchTest, SurvivesTheDeathOfEachMemberWithoutMissingAChange) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> client = cluster.NewClient({.call_timeout = milliseconds(1500)});
  Seen seen;
  std::unique_ptr<EtcdClient::Watch> watch =
      client->WatchKey("/t/ring", [&](const std::optional<std::string>& v) { seen.Add(v); });
  ASSERT_TRUE(seen.WaitForLast("<deleted>"));  // absent at start
  std::shared_ptr<EtcdClient> writer = cluster.NewClient({.call_timeout = milliseconds(1500)});
  for (int member = 0; member < cluster.size(); ++member) {
    cluster.Kill(member);  // the watch's stream is on one of them
    std::string value = absl::StrCat("after-kill-", member);
    ASSERT_TRUE(writer->Put("/t/ring", value).ok());
    EXPECT_TRUE(seen.WaitForLast(value)) << value;
    ASSERT_TRUE(cluster.Restart(member).ok());
    ASSERT_TRUE(cluster.WaitHealthy(std::chrono::seconds(15)).ok());
  }
  // Every value written was seen, in order (a value may repeat after a
  // reconnect, never go back).
  std::vector<std::string> values = seen.values();
  std::vector<std::string> distinct;
  for (const std::string& v : values) {
    if (distinct.empty() || distinct.back() != v) distinct.push_back(v);
  }
  EXPECT_EQ(distinct, (std::vector<std::string>{"<deleted>", "after-kill-0", "after-kill-1",
                                                "after-kill-2"}));
}

TEST(EtcdWatchTest, StopsPromptlyWhileEtcdIsDown) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> client = cluster.NewClient({.call_timeout = milliseconds(500)});
  std::unique_ptr<EtcdClient::Watch> watch =
      client->WatchKey("/t/ring", [](const std::optional<std::string>&) {});
  for (int member = 0; member < cluster.size(); ++member) cluster.Kill(member);
  std::this_thread::sleep_for(milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  watch.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

}  // namespace
}  // namespace dvs::metadata
