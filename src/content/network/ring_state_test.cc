#include "content/network/ring_state.h"

#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dvs::content {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const std::vector<std::string> kNodes = {"localhost:8090", "localhost:8091", "localhost:8092"};

RingState Seeded(std::vector<std::string> nodes = kNodes, int vnodes = 16, int replicas = 2) {
  absl::StatusOr<RingState> state = RingState::Seed(std::move(nodes), vnodes, replicas);
  EXPECT_TRUE(state.ok()) << state.status();
  return *std::move(state);
}

RingPlacement Placement(const RingState& state) {
  absl::StatusOr<RingPlacement> placement = RingPlacement::Create(state);
  EXPECT_TRUE(placement.ok()) << placement.status();
  return *std::move(placement);
}

std::vector<std::string> Keys(int count) {
  std::vector<std::string> keys;
  for (int i = 0; i < count; ++i) keys.push_back(PlacementKey("v" + std::to_string(i), "a.m4s"));
  return keys;
}

TEST(RingStateTest, SeedSortsNodesAndStartsAtEpochOne) {
  RingState state = Seeded({"localhost:8092", "localhost:8090", "localhost:8091"});
  EXPECT_EQ(state.epoch, 1u);
  EXPECT_EQ(state.nodes, kNodes);
  EXPECT_FALSE(state.in_transition());
}

TEST(RingStateTest, SeedRejectsEmptyOrDuplicateNodes) {
  EXPECT_EQ(RingState::Seed({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RingState::Seed({"a:1", "a:1"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RingState::Seed({"a:1"}, 0, 1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RingStateTest, JsonRoundTripKeepsEveryField) {
  RingState plain = Seeded();
  plain.epoch = 18446744073709551615ULL;  // uint64 max survives
  EXPECT_EQ(RingState::FromJson(plain.ToJson()).value(), plain);
  RingState changing = Seeded().BeginRemove("localhost:8091", 1700000000123).value();
  absl::StatusOr<RingState> parsed = RingState::FromJson(changing.ToJson());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, changing);
  EXPECT_EQ(parsed->transition->started_at_ms, 1700000000123);
  EXPECT_EQ(parsed->transition->kind, TransitionKind::kRemove);
}

TEST(RingStateTest, JsonUsesTheDocumentedFieldNames) {
  RingState state = Seeded({"b:1"}, 128, 3).BeginAdd("a:1", 5).value();
  EXPECT_EQ(state.ToJson(),
            R"({"epoch":1,"nodes":["b:1"],"replicas":3,"transition":{"kind":"add","node":"a:1",)"
            R"("started_at_ms":5,"target_nodes":["a:1","b:1"]},"version":2,"vnodes":128})");
}

TEST(RingStateTest, EveryNewStateHasAHigherVersion) {
  RingState seeded = Seeded();
  EXPECT_EQ(seeded.version, 1u);
  RingState adding = seeded.BeginAdd("z:1", 1).value();
  RingState committed = adding.Commit().value();
  RingState removing = committed.BeginRemove("z:1", 2).value();
  RingState aborted = removing.Abort().value();
  EXPECT_EQ(adding.version, 2u);
  EXPECT_EQ(committed.version, 3u);
  EXPECT_EQ(removing.version, 4u);
  EXPECT_EQ(aborted.version, 5u);
  // Aborting keeps the epoch: only the version tells the two states apart.
  EXPECT_EQ(aborted.epoch, committed.epoch);
  EXPECT_EQ(aborted.nodes, committed.nodes);
}

TEST(RingStateTest, FromJsonSortsNodesAndAcceptsMissingTransition) {
  absl::StatusOr<RingState> state =
      RingState::FromJson(R"({"epoch":4,"nodes":["c:1","a:1"],"vnodes":1,"replicas":1})");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_THAT(state->nodes, ElementsAre("a:1", "c:1"));
  EXPECT_EQ(state->epoch, 4u);
  EXPECT_EQ(state->version, 0u);  // written before versions existed
  EXPECT_FALSE(state->in_transition());
}

TEST(RingStateTest, FromJsonRejectsBadInputWithoutThrowing) {
  const std::vector<std::string> bad = {
      "",
      "not json",
      "[]",
      R"({"nodes":["a:1"],"vnodes":1,"replicas":1})",
      R"({"epoch":-1,"nodes":["a:1"],"vnodes":1,"replicas":1})",
      R"({"epoch":"1","nodes":["a:1"],"vnodes":1,"replicas":1})",
      R"({"epoch":1,"version":-2,"nodes":["a:1"],"vnodes":1,"replicas":1})",
      R"({"epoch":1,"nodes":[],"vnodes":1,"replicas":1})",
      R"({"epoch":1,"nodes":["a:1","a:1"],"vnodes":1,"replicas":1})",
      R"({"epoch":1,"nodes":[7],"vnodes":1,"replicas":1})",
      R"({"epoch":1,"nodes":["a:1"],"vnodes":0,"replicas":1})",
      R"({"epoch":1,"nodes":["a:1"],"vnodes":1e99,"replicas":1})",
      R"({"epoch":1,"nodes":["a:1"],"vnodes":99999999999,"replicas":1})",
      R"({"epoch":1,"nodes":["a:1"],"vnodes":1,"replicas":0})",
      R"({"epoch":1,"nodes":["a:1"],"vnodes":1,"replicas":1,"transition":5})",
      R"({"epoch":1,"nodes":["a:1"],"vnodes":1,"replicas":1,"transition":{"kind":"move",)"
      R"("node":"b:1","target_nodes":["a:1","b:1"],"started_at_ms":0}})",
      R"({"epoch":1,"nodes":["a:1"],"vnodes":1,"replicas":1,"transition":{"kind":"add",)"
      R"("node":"a:1","target_nodes":["a:1"],"started_at_ms":0}})",
      R"({"epoch":1,"nodes":["a:1"],"vnodes":1,"replicas":1,"transition":{"kind":"add",)"
      R"("node":"b:1","target_nodes":["a:1","c:1"],"started_at_ms":0}})",
      R"({"epoch":1,"nodes":["a:1"],"vnodes":1,"replicas":1,"transition":{"kind":"remove",)"
      R"("node":"a:1","target_nodes":[],"started_at_ms":0}})",
  };
  for (const std::string& text : bad) {
    absl::StatusOr<RingState> state = RingState::FromJson(text);
    EXPECT_EQ(state.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(RingStateTest, AddThenCommitBumpsEpochAndAdoptsTarget) {
  RingState added = Seeded().BeginAdd("localhost:8093", 10).value();
  EXPECT_EQ(added.epoch, 1u);
  EXPECT_EQ(added.nodes, kNodes);
  EXPECT_THAT(added.target_nodes(),
              ElementsAre("localhost:8090", "localhost:8091", "localhost:8092", "localhost:8093"));
  RingState committed = added.Commit().value();
  EXPECT_EQ(committed.epoch, 2u);
  EXPECT_EQ(committed.nodes, added.target_nodes());
  EXPECT_FALSE(committed.in_transition());
}

// A commit owes a clean-up on the change's old and new nodes (a remove's
// removed node too) until CleanedUp; the next change starts without one.
TEST(RingStateTest, ACommitOwesACleanUpUntilItIsDone) {
  RingState added = Seeded().BeginAdd("localhost:8093", 10).value().Commit().value();
  EXPECT_TRUE(added.cleanup_pending());
  EXPECT_EQ(added.cleanup_nodes, added.nodes);
  RingState removed = added.CleanedUp().BeginRemove("localhost:8090", 11).value().Commit().value();
  EXPECT_THAT(removed.cleanup_nodes,
              ElementsAre("localhost:8090", "localhost:8091", "localhost:8092", "localhost:8093"));
  EXPECT_EQ(RingState::FromJson(removed.ToJson()).value(), removed);
  EXPECT_THAT(removed.ToJson(), HasSubstr(R"("cleanup":["localhost:8090",)"));

  RingState cleaned = removed.CleanedUp();
  EXPECT_FALSE(cleaned.cleanup_pending());
  EXPECT_EQ(cleaned.version, removed.version + 1);
  EXPECT_EQ(cleaned.epoch, removed.epoch);
  EXPECT_EQ(cleaned.nodes, removed.nodes);
  EXPECT_THAT(cleaned.ToJson(), Not(HasSubstr("cleanup")));  // as documents were before
  EXPECT_FALSE(removed.BeginAdd("localhost:8094", 12).value().cleanup_pending());
  EXPECT_FALSE(removed.BeginAdd("localhost:8094", 12).value().Abort().value().cleanup_pending());
  // Malformed lists are refused like the other node lists.
  for (const char* bad :
       {R"("cleanup":["b:1","a:1","a:1"])", R"("cleanup":"a:1")", R"("cleanup":[7])"}) {
    std::string text =
        std::string(R"({"epoch":1,"nodes":["a:1"],"vnodes":1,"replicas":1,)") + bad + "}";
    EXPECT_EQ(RingState::FromJson(text).status().code(), absl::StatusCode::kInvalidArgument)
        << text;
  }
}

TEST(RingStateTest, AbortKeepsTheOldRingAndEpoch) {
  RingState seeded = Seeded();
  RingState aborted = seeded.BeginRemove("localhost:8090", 10).value().Abort().value();
  RingState expected = seeded;
  expected.version = seeded.version + 2;  // begun, then aborted
  EXPECT_EQ(aborted, expected);
}

TEST(RingStateTest, ChangesAreRefusedWhenTheyCannotApply) {
  RingState seeded = Seeded();
  EXPECT_EQ(seeded.BeginAdd("localhost:8090", 0).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(seeded.BeginRemove("localhost:9999", 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(seeded.BeginAdd("", 0).status().code(), absl::StatusCode::kInvalidArgument);
  RingState changing = seeded.BeginAdd("localhost:8093", 0).value();
  absl::Status second = changing.BeginRemove("localhost:8090", 0).status();
  EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.message()), HasSubstr("localhost:8093"));
  EXPECT_EQ(seeded.Commit().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(seeded.Abort().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Seeded({"a:1"}).BeginRemove("a:1", 0).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(RingPlacementTest, WithoutTransitionWritesGoToTheReplicaSet) {
  RingPlacement placement = Placement(Seeded());
  EXPECT_FALSE(placement.in_transition());
  for (const std::string& key : Keys(200)) {
    EXPECT_EQ(placement.WriteSetFor(key), placement.current().ReplicaSetFor(key));
    EXPECT_EQ(placement.ReadOrderFor(key), placement.current().ReplicaSetFor(key));
  }
}

TEST(RingPlacementTest, ReplicasAreCappedPerRing) {
  RingState state = Seeded({"a:1", "b:1"}, 8, 3).BeginAdd("c:1", 0).value();
  RingPlacement placement = Placement(state);
  EXPECT_EQ(placement.current().replicas(), 2);
  EXPECT_EQ(placement.target().replicas(), 3);
}

// During a change the write set is the new replica set followed by the old
// set's other members, and it is exactly their union.
void ExpectUnionNewFirst(const RingPlacement& placement) {
  ASSERT_TRUE(placement.in_transition());
  int widened = 0;
  for (const std::string& key : Keys(500)) {
    std::vector<std::string> old_set = placement.current().ReplicaSetFor(key);
    std::vector<std::string> new_set = placement.target().ReplicaSetFor(key);
    std::vector<std::string> writes = placement.WriteSetFor(key);
    ASSERT_GE(writes.size(), new_set.size());
    EXPECT_TRUE(std::equal(new_set.begin(), new_set.end(), writes.begin())) << key;
    std::set<std::string> expected(old_set.begin(), old_set.end());
    expected.insert(new_set.begin(), new_set.end());
    EXPECT_EQ(std::set<std::string>(writes.begin(), writes.end()), expected) << key;
    EXPECT_EQ(writes.size(), expected.size()) << key;
    EXPECT_EQ(placement.ReadOrderFor(key), writes) << key;
    if (writes.size() > new_set.size()) ++widened;
  }
  EXPECT_GT(widened, 0);  // the change actually moved something
}

TEST(RingPlacementTest, DuringAnAddWritesGoToNewAndOldReplicas) {
  ExpectUnionNewFirst(Placement(Seeded(kNodes, 16, 2).BeginAdd("localhost:8093", 0).value()));
}

TEST(RingPlacementTest, DuringARemoveWritesGoToNewAndOldReplicas) {
  ExpectUnionNewFirst(Placement(Seeded(kNodes, 16, 2).BeginRemove("localhost:8091", 0).value()));
}

TEST(RingPlacementTest, RejectsAnInvalidState) {
  RingState state = Seeded();
  state.nodes.push_back("localhost:8090");
  EXPECT_EQ(RingPlacement::Create(state).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dvs::content
