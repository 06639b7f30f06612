// EtcdClient::WatchKey and WatchPrefix against a real 3-member cluster: they
// deliver every change in order (WatchKey from the value at start, WatchPrefix
// from a revision, history included), survive the death of the member they
// stream from, and stop cleanly; WatchPrefix tells when its start was
// compacted.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
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

using Event = EtcdClient::Event;

// What a prefix watch delivered, for a test to wait on.
class SeenEvents {
 public:
  EtcdClient::EventsCallback Callback() {
    return [this](const std::vector<Event>& batch) {
      std::lock_guard lock(mutex_);
      events_.insert(events_.end(), batch.begin(), batch.end());
      changed_.notify_all();
    };
  }
  EtcdClient::CompactedCallback OnCompacted() {
    return [this](int64_t revision) {
      std::lock_guard lock(mutex_);
      compacted_.push_back(revision);
      changed_.notify_all();
    };
  }
  // Waits until an event of `revision` (or later) was delivered.
  bool WaitForRevision(int64_t revision, milliseconds timeout = milliseconds(10000)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(
        lock, timeout, [&] { return !events_.empty() && events_.back().mod_revision >= revision; });
  }
  bool WaitForCompacted(milliseconds timeout = milliseconds(10000)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return !compacted_.empty(); });
  }
  std::vector<Event> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::vector<int64_t> compacted() {
    std::lock_guard lock(mutex_);
    return compacted_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Event> events_;
  std::vector<int64_t> compacted_;
};

std::string Describe(const Event& event) {
  return absl::StrCat(event.type == Event::Type::kPut ? "put " : "delete ", event.key, "=",
                      event.value, "@", event.mod_revision);
}

std::vector<std::string> Describe(const std::vector<Event>& events) {
  std::vector<std::string> described;
  for (const Event& event : events) described.push_back(Describe(event));
  return described;
}

int64_t MustPut(EtcdClient& client, const std::string& key, const std::string& value) {
  absl::StatusOr<int64_t> revision = client.PutAt(key, value);
  EXPECT_TRUE(revision.ok()) << key << ": " << revision.status();
  return revision.value_or(0);
}

int64_t MustDelete(EtcdClient& client, const std::string& key) {
  absl::StatusOr<EtcdClient::WriteResult> deleted = client.DeleteAt(key);
  EXPECT_TRUE(deleted.ok() && deleted->written) << key << ": " << deleted.status();
  return deleted.ok() ? deleted->revision : 0;
}

TEST(EtcdWatchTest, WatchPrefixDeliversEveryChangeFromTheStartRevisionInOrder) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> client = cluster.NewClient();
  MustPut(*client, "/w/before", "not wanted");
  // Before the watch opens: history it must replay from its start revision.
  const int64_t r1 = MustPut(*client, "/w/a", "1");
  const int64_t r2 = MustPut(*client, "/w/b", "2");
  MustPut(*client, "/x/a", "outside");
  const int64_t r3 = MustDelete(*client, "/w/a");
  MustPut(*client, "/w0", "just past the prefix");
  SeenEvents seen;
  std::unique_ptr<EtcdClient::Watch> watch =
      client->WatchPrefix("/w/", r1, seen.Callback(), seen.OnCompacted());
  std::shared_ptr<EtcdClient> other = cluster.NewClient();
  const int64_t r4 = MustPut(*other, "/w/c", "3");
  MustPut(*other, "/wx", "outside");
  const int64_t r5 = MustPut(*other, "/w/b", "4");
  const int64_t r6 = MustDelete(*other, "/w/c");
  ASSERT_TRUE(seen.WaitForRevision(r6));

  EXPECT_EQ(Describe(seen.events()),
            (std::vector<std::string>{
                absl::StrCat("put /w/a=1@", r1), absl::StrCat("put /w/b=2@", r2),
                absl::StrCat("delete /w/a=@", r3), absl::StrCat("put /w/c=3@", r4),
                absl::StrCat("put /w/b=4@", r5), absl::StrCat("delete /w/c=@", r6)}));
  EXPECT_TRUE(seen.compacted().empty());
}

TEST(EtcdWatchTest, WatchPrefixResumesAfterEachMemberDiesWithNothingLostOrRepeated) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> writer = cluster.NewClient({.call_timeout = milliseconds(1500)});
  std::vector<std::pair<std::string, int64_t>> acknowledged;  // value, revision
  acknowledged.push_back({"start", MustPut(*writer, "/w/k", "start")});
  SeenEvents seen;
  std::shared_ptr<EtcdClient> client = cluster.NewClient({.call_timeout = milliseconds(1500)});
  std::unique_ptr<EtcdClient::Watch> watch =
      client->WatchPrefix("/w/", acknowledged.front().second, seen.Callback(), seen.OnCompacted());
  ASSERT_TRUE(seen.WaitForRevision(acknowledged.front().second));
  for (int member = 0; member < cluster.size(); ++member) {
    cluster.Kill(member);          // the watch's stream is on one of them
    for (int k = 0; k < 3; ++k) {  // while the watch reconnects
      std::string value = absl::StrCat("after-kill-", member, "-", k);
      int64_t revision = MustPut(*writer, absl::StrCat("/w/", k), value);
      ASSERT_GT(revision, 0);
      acknowledged.push_back({value, revision});
    }
    EXPECT_TRUE(seen.WaitForRevision(acknowledged.back().second)) << member;
    ASSERT_TRUE(cluster.Restart(member).ok());
    ASSERT_TRUE(cluster.WaitHealthy(std::chrono::seconds(15)).ok());
  }
  std::vector<Event> events = seen.events();
  // In strict revision order: nothing delivered twice. (A put retried by the
  // writer may have been applied twice; each is a change of its own.)
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_LT(events[i - 1].mod_revision, events[i].mod_revision) << Describe(events[i]);
  }
  // Every acknowledged write was delivered.
  for (const auto& [value, revision] : acknowledged) {
    auto found = std::find_if(events.begin(), events.end(),
                              [&](const Event& e) { return e.mod_revision == revision; });
    ASSERT_NE(found, events.end()) << value << "@" << revision;
    EXPECT_EQ(found->value, value);
  }
  EXPECT_TRUE(seen.compacted().empty());
}

TEST(EtcdWatchTest, WatchPrefixFromACompactedRevisionCallsOnCompactedOnceAndStops) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> client = cluster.NewClient();
  const int64_t r1 = MustPut(*client, "/w/a", "1");
  MustPut(*client, "/w/a", "2");
  const int64_t r3 = MustPut(*client, "/w/a", "3");
  ASSERT_TRUE(client->Compact(r3).ok());
  SeenEvents seen;
  std::unique_ptr<EtcdClient::Watch> watch =
      client->WatchPrefix("/w/", r1, seen.Callback(), seen.OnCompacted());
  ASSERT_TRUE(seen.WaitForCompacted());
  MustPut(*client, "/w/a", "4");
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(seen.compacted(), std::vector<int64_t>{r3});
  EXPECT_TRUE(seen.events().empty());
}

TEST(EtcdWatchTest, WatchPrefixStopsPromptlyWhileEtcdIsDown) {
  EtcdTestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok());
  std::shared_ptr<EtcdClient> client = cluster.NewClient({.call_timeout = milliseconds(500)});
  SeenEvents seen;
  std::unique_ptr<EtcdClient::Watch> watch =
      client->WatchPrefix("/w/", 1, seen.Callback(), seen.OnCompacted());
  for (int member = 0; member < cluster.size(); ++member) cluster.Kill(member);
  std::this_thread::sleep_for(milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  watch.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

}  // namespace
}  // namespace dvs::metadata
