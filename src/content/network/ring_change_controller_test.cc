// RingChangeController through NetworkContentService against real storage
// servers in this process: a change left unfinished is resumed and finished,
// fenced writes that are refused store nothing and delete nothing, the
// versions of stored states strictly increase, and the clean-up after a
// commit leaves exactly the new ring's copies (or, cut short, repair does).
#include "content/network/ring_change_controller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include "common/status.h"
#include "content/network/network_content_service.h"
#include "content/network/network_test_cluster.h"

namespace dvs::content {
namespace {

using ::testing::Contains;
using testing::Eventually;
using testing::ExpectedHoldings;
using testing::FastOptions;
using testing::MemoryRingStateStore;
using ::testing::Not;
using testing::ReadAll;
using testing::TestBytes;
using testing::TestCluster;

constexpr int kFiles = 30;
constexpr auto kSettleDeadline = std::chrono::seconds(60);

// What a fenced write does, decided per state by the test.
enum class Fenced { kStore, kRefuse, kStoreAndLoseTheAnswer };

// A store whose fenced writes the test scripts; records the versions of the
// states it stored.
class ScriptedStore final : public RingStateStore {
 public:
  absl::StatusOr<std::optional<std::string>> Load() override { return inner_.Load(); }
  absl::Status Store(std::string_view state) override { return Record(state); }
  absl::Status StoreFenced(std::string_view json, const RingChangeLease&) override {
    absl::StatusOr<RingState> state = RingState::FromJson(json);
    if (!state.ok()) return state.status();
    Fenced what = Fenced::kStore;
    {
      std::lock_guard lock(mutex_);
      if (script_) what = script_(*state);
    }
    if (what == Fenced::kRefuse) return absl::FailedPreconditionError("the lock has moved");
    RETURN_IF_ERROR(Record(json));
    if (what == Fenced::kStore) return absl::OkStatus();
    return absl::UnavailableError("the answer was lost");
  }
  void Script(std::function<Fenced(const RingState&)> script) {
    std::lock_guard lock(mutex_);
    script_ = std::move(script);
  }
  std::vector<uint64_t> versions() {
    std::lock_guard lock(mutex_);
    return versions_;
  }
  RingState state() { return inner_.state(); }

 private:
  absl::Status Record(std::string_view json) {
    absl::StatusOr<RingState> state = RingState::FromJson(json);
    if (!state.ok()) return state.status();
    {
      std::lock_guard lock(mutex_);
      versions_.push_back(state->version);
    }
    return inner_.Store(json);
  }

  MemoryRingStateStore inner_;
  std::mutex mutex_;
  std::function<Fenced(const RingState&)> script_;
  std::vector<uint64_t> versions_;
};

bool Has(const std::vector<std::string>& nodes, const std::string& node) {
  return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

bool IsCommitOf(const RingState& state, const std::string& node) {
  return !state.in_transition() && Has(state.nodes, node);
}

class RingChangeControllerTest : public ::testing::Test {
 protected:
  void Open() {
    if (nodes_.empty()) nodes_ = cluster_.StartNodes(3);
    NetworkContentOptions options = FastOptions(nodes_, 2);
    options.takeover_every = std::chrono::milliseconds(200);
    options.scan_page_size = page_size_;
    options.cleanup_delay = cleanup_delay_;
    auto service = NetworkContentService::Open(options, store_);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
  }
  void WriteFiles(int count = kFiles) {
    for (int i = 0; i < count; ++i) {
      ASSERT_TRUE(service_->Write("v", std::to_string(i), TestBytes(300 + i, i)).ok()) << i;
      keys_.push_back(PlacementKey("v", std::to_string(i)));
    }
  }
  // Every node holds exactly the keys of its replica sets under `state`.
  bool PlacementIsExact(const RingState& state) {
    std::vector<std::string> keys = keys_;
    std::sort(keys.begin(), keys.end());
    for (const auto& [node, expected] : ExpectedHoldings(state, keys)) {
      if (cluster_.KeysOn(node) != expected) return false;
    }
    return true;
  }
  // Every node still holds at least its keys under `state` (nothing needed
  // was deleted).
  void ExpectNothingDeleted(const RingState& state) {
    for (const auto& [node, expected] : ExpectedHoldings(state, keys_)) {
      std::vector<std::string> held = cluster_.KeysOn(node);
      for (const std::string& key : expected) EXPECT_THAT(held, Contains(key)) << node;
    }
  }
  void ExpectAllReadable() {
    for (int i = 0; i < kFiles; ++i) {
      EXPECT_EQ(ReadAll(*service_, "v", std::to_string(i)).value_or("?"), TestBytes(300 + i, i));
    }
  }
  static void ExpectStrictlyIncreasing(const std::vector<uint64_t>& versions) {
    for (size_t i = 1; i < versions.size(); ++i) {
      EXPECT_LT(versions[i - 1], versions[i]) << "stored state " << i;
    }
  }

  size_t page_size_ = HoldingsScanner::kDefaultPageSize;
  std::chrono::milliseconds cleanup_delay_{0};
  TestCluster cluster_;
  ScriptedStore store_;
  std::vector<std::string> nodes_;
  std::vector<std::string> keys_;
  std::unique_ptr<NetworkContentService> service_;
};

// The crash: the commit's answer is lost (stored or not, the server cannot
// tell) and the server stops. Its restart resumes the change and finishes it.
TEST_F(RingChangeControllerTest, ARestartedServerResumesItsUnfinishedChangeAndFinishesIt) {
  Open();
  WriteFiles();
  const RingState before = service_->ring_state();
  const std::string added = cluster_.StartNode();
  store_.Script([](const RingState& state) {
    return state.in_transition() ? Fenced::kStore : Fenced::kRefuse;
  });
  auto migrated = service_->AddNode(added, nullptr);
  EXPECT_FALSE(migrated.ok());
  EXPECT_TRUE(store_.state().in_transition());
  ExpectNothingDeleted(before);
  service_.reset();  // stops before anything resumed it

  store_.Script(nullptr);
  Open();
  ASSERT_TRUE(
      Eventually([&] { return IsCommitOf(service_->ring_state(), added); }, kSettleDeadline));
  EXPECT_EQ(store_.state(), service_->ring_state());
  ExpectAllReadable();
  // The old copies are deleted after the commit, by the same thread.
  EXPECT_TRUE(
      Eventually([&] { return PlacementIsExact(service_->ring_state()); }, kSettleDeadline));
  ExpectStrictlyIncreasing(store_.versions());
}

// A fenced commit refused (another server holds the lock now) stores
// nothing and deletes nothing; the transition stays in force, and is
// finished once the store takes this server's writes again.
TEST_F(RingChangeControllerTest, ARefusedFencedCommitStoresNothingAndDeletesNothing) {
  Open();
  WriteFiles();
  const RingState before = service_->ring_state();
  const std::string added = cluster_.StartNode();
  std::atomic<bool> refuse{false};
  store_.Script([&](const RingState& state) {
    return refuse && !state.in_transition() ? Fenced::kRefuse : Fenced::kStore;
  });
  auto migrated = service_->AddNode(added, [&](const ClusterProgress& progress) {
    if (progress.phase == "copying") refuse = true;
  });
  EXPECT_TRUE(absl::IsFailedPrecondition(migrated.status())) << migrated.status();
  EXPECT_TRUE(store_.state().in_transition());
  EXPECT_TRUE(service_->ring_state().in_transition());  // both rings are read
  ExpectNothingDeleted(before);
  ExpectAllReadable();

  refuse = false;  // the takeover thread finishes it
  ASSERT_TRUE(
      Eventually([&] { return IsCommitOf(service_->ring_state(), added); }, kSettleDeadline));
  EXPECT_TRUE(Eventually([&] { return IsCommitOf(store_.state(), added); }, kSettleDeadline));
  ExpectAllReadable();
  ExpectStrictlyIncreasing(store_.versions());
}

// The old bug: a commit whose answer was lost, then an abort of the same
// transition, both had version v + 1, so servers that had heard of the
// commit ignored the abort.
TEST_F(RingChangeControllerTest, AStateOfferedTwiceNeverReusesAVersion) {
  Open();
  WriteFiles();
  const std::string added = cluster_.StartNode();
  store_.Script([](const RingState& state) {
    return state.in_transition() ? Fenced::kStore : Fenced::kStoreAndLoseTheAnswer;
  });
  EXPECT_FALSE(service_->AddNode(added, nullptr).ok());
  store_.Script(nullptr);
  ASSERT_TRUE(Eventually([&] { return !service_->ring_state().in_transition(); }, kSettleDeadline));
  // Then a change that aborts (its destination dies before copying), once
  // the resumed one has let go of the lock (after its clean-up).
  const std::string doomed = cluster_.StartNode();
  absl::StatusOr<uint64_t> aborted = absl::UnknownError("not run");
  ASSERT_TRUE(Eventually(
      [&] {
        aborted = service_->AddNode(doomed, [&](const ClusterProgress& progress) {
          if (progress.phase == "planning") cluster_.StopNode(doomed);
        });
        return !absl::IsFailedPrecondition(aborted.status());
      },
      kSettleDeadline));
  EXPECT_TRUE(absl::IsAborted(aborted.status())) << aborted.status();
  EXPECT_THAT(service_->ring_state().nodes, Not(Contains(doomed)));
  EXPECT_EQ(store_.state(), service_->ring_state());
  std::vector<uint64_t> versions = store_.versions();
  ASSERT_GE(versions.size(), 5u);  // seed, begin, commit (lost answer), commit again, begin, abort
  ExpectStrictlyIncreasing(versions);
}

constexpr int kManyFiles = 300;
constexpr size_t kSmallPage = 16;  // a batch holds about 3 * 16 keys: many batches

// The clean-up walks the nodes again in small batches after the commit: it
// leaves exactly the new ring's copies, except for a key that one node of its
// new replica set lost after the copying (deleted here as the commit starts):
// that key keeps its old copies, and repair then finishes it.
TEST_F(RingChangeControllerTest, CleanUpInSmallBatchesLeavesExactlyTheNewRingsCopies) {
  page_size_ = kSmallPage;
  Open();
  WriteFiles(kManyFiles);
  const RingState before = service_->ring_state();
  const std::string added = cluster_.StartNode();
  auto old_ring = RingPlacement::Create(before);
  auto new_ring = RingPlacement::Create(*before.BeginAdd(added, 0));
  ASSERT_TRUE(old_ring.ok() && new_ring.ok());
  std::string lacking;  // a key the added node is to hold
  for (const std::string& key : keys_) {
    if (Has(new_ring->target().ReplicaSetFor(key), added)) lacking = key;
  }
  ASSERT_FALSE(lacking.empty());
  bool deleted = false;
  auto migrated = service_->AddNode(added, [&](const ClusterProgress& progress) {
    if (progress.phase == "committing" && !deleted) {
      deleted = cluster_.Client(added).Delete(lacking).value_or(0) == 1;
    }
  });
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  ASSERT_TRUE(deleted);
  const RingState after = service_->ring_state();
  ASSERT_TRUE(IsCommitOf(after, added));

  std::vector<std::string> others;
  for (const std::string& key : keys_) {
    if (key != lacking) others.push_back(key);
  }
  std::sort(others.begin(), others.end());
  std::map<std::string, std::vector<std::string>> expected = ExpectedHoldings(after, others);
  // `lacking` stays where it was, and on the new replicas that have it.
  std::set<std::string> holders;
  for (const std::string& node : old_ring->current().ReplicaSetFor(lacking)) holders.insert(node);
  for (const std::string& node : new_ring->target().ReplicaSetFor(lacking)) {
    if (node != added) holders.insert(node);
  }
  uint64_t kept = 0;
  for (const std::string& node : holders) {
    expected[node].push_back(lacking);
    std::sort(expected[node].begin(), expected[node].end());
    kept += !Has(new_ring->target().ReplicaSetFor(lacking), node);
  }
  ASSERT_GT(kept, 0u);  // the added node took a replica from an old holder
  for (const auto& [node, keys] : expected) EXPECT_EQ(cluster_.KeysOn(node), keys) << node;
  EXPECT_EQ(service_->stats().cleanup_failures, kept);

  auto repaired = service_->Repair(nullptr);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_EQ(repaired->copies_made, 1u);
  EXPECT_EQ(repaired->copies_deleted, kept);
  EXPECT_TRUE(PlacementIsExact(after));
}

TEST_F(RingChangeControllerTest, RemoveInSmallBatchesEmptiesTheRemovedNode) {
  page_size_ = kSmallPage;
  Open();
  WriteFiles(kManyFiles);
  const std::string removed = nodes_[1];
  auto migrated = service_->RemoveNode(removed, nullptr);
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  EXPECT_GT(*migrated, 0u);
  EXPECT_THAT(service_->ring_state().nodes, Not(Contains(removed)));
  EXPECT_TRUE(cluster_.KeysOn(removed).empty());
  EXPECT_TRUE(PlacementIsExact(service_->ring_state()));
  EXPECT_EQ(service_->stats().cleanup_failures, 0u);
}

// A server that stops after the commit, before its clean-up (here: during
// the clean-up delay), leaves the clean-up owed in the stored ring: the next
// server to hold the lock finishes it, with no repair asked for.
TEST_F(RingChangeControllerTest, TheNextServerFinishesACleanUpCutShort) {
  Open();
  WriteFiles();
  const std::string added = cluster_.StartNode();
  store_.Script([](const RingState& state) {
    return state.in_transition() ? Fenced::kStore : Fenced::kRefuse;
  });
  EXPECT_FALSE(service_->AddNode(added, nullptr).ok());
  service_.reset();

  // The restart resumes the change; it stops while waiting to clean up.
  store_.Script(nullptr);
  cleanup_delay_ = std::chrono::seconds(3);
  Open();
  ASSERT_TRUE(Eventually([&] { return IsCommitOf(store_.state(), added); }, kSettleDeadline));
  service_.reset();
  const RingState committed = store_.state();
  EXPECT_TRUE(committed.cleanup_pending());
  ExpectNothingDeleted(committed);
  EXPECT_FALSE(PlacementIsExact(committed));  // the old copies are there

  cleanup_delay_ = std::chrono::milliseconds(0);
  Open();
  ASSERT_TRUE(Eventually([&] { return !store_.state().cleanup_pending(); }, kSettleDeadline));
  const RingState cleaned = store_.state();
  EXPECT_EQ(cleaned.nodes, committed.nodes);
  EXPECT_EQ(cleaned.epoch, committed.epoch);
  EXPECT_GT(cleaned.version, committed.version);
  EXPECT_TRUE(PlacementIsExact(cleaned));
  ExpectAllReadable();
  ExpectStrictlyIncreasing(store_.versions());
  // Nothing is left for a repair.
  auto repaired = service_->Repair(nullptr);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_EQ(repaired->copies_deleted + repaired->copies_made, 0u);
}

}  // namespace
}  // namespace dvs::content
