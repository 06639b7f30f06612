// The cluster's placement configuration as stored in the metadata backend
// (DESIGN §5, §8 `/dvs/ring`): the committed ring and any node change in
// progress, plus the placement rules that hold while a change runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "content/network/hash_ring.h"

namespace dvs::content {

enum class TransitionKind { kAdd, kRemove };

// "add" / "remove", as stored in JSON.
std::string_view TransitionKindName(TransitionKind kind);

// A node change in progress. `target_nodes` is the committed node list with
// `node` added or removed, sorted.
struct RingTransition {
  std::vector<std::string> target_nodes;
  TransitionKind kind = TransitionKind::kAdd;
  std::string node;
  int64_t started_at_ms = 0;

  friend bool operator==(const RingTransition&, const RingTransition&) = default;
};

// A plain value: copy it, compare it, store it as JSON. The functions that make
// a new state (BeginAdd, Commit, ...) return it and leave this one alone. Not
// synchronized; share a const one freely between threads.
struct RingState {
  // Counts committed rings: 1 for the seeded ring, +1 per committed change.
  // Starting or aborting a transition keeps it.
  uint64_t epoch = 0;
  // Counts every state stored: 1 for the seeded ring, +1 per BeginAdd,
  // BeginRemove, Commit and Abort. Web servers sharing one store order the
  // states they hear of by it, so a late notice never undoes a newer state.
  // 0 in a document written before it existed.
  uint64_t version = 0;
  std::vector<std::string> nodes;  // sorted, distinct, never empty in a valid state
  int vnodes = kDefaultVirtualNodes;
  int replicas = kDefaultReplicas;  // configured; each ring uses min(replicas, its nodes)
  std::optional<RingTransition> transition;
  // Set by Commit: every node of the change just committed (its old and new
  // nodes), where copies outside the committed ring are still to be deleted.
  // Empty once that clean-up has run, and in documents from before it
  // existed. A server that stops during the clean-up leaves it set, so
  // whoever next holds the ring-change lock finishes it.
  std::vector<std::string> cleanup_nodes;

  friend bool operator==(const RingState&, const RingState&) = default;

  // The first state, from the nodes on the command line: epoch 1, no
  // transition. InvalidArgument for an empty, duplicate or bad configuration.
  [[nodiscard]] static absl::StatusOr<RingState> Seed(std::vector<std::string> nodes,
                                                      int vnodes = kDefaultVirtualNodes,
                                                      int replicas = kDefaultReplicas);

  // {"epoch":1,"version":1,"nodes":[...],"vnodes":128,"replicas":3,
  //  "transition":null | {"kind":"add","node":"...","target_nodes":[...],"started_at_ms":0}}
  // plus "cleanup":[...] while a clean-up is owed (absent otherwise).
  std::string ToJson() const;
  // InvalidArgument for malformed JSON, wrong types, or a state that fails
  // Validate(); never throws. Node lists are sorted on the way in.
  [[nodiscard]] static absl::StatusOr<RingState> FromJson(std::string_view json);

  // OK when the state is usable: nodes non-empty, sorted and distinct; V and R
  // in range; a transition's target equals nodes with its node added (absent
  // before) or removed (present before, and not the last node).
  [[nodiscard]] absl::Status Validate() const;

  bool in_transition() const { return transition.has_value(); }
  bool cleanup_pending() const { return !cleanup_nodes.empty(); }
  // "add host:port" or "remove host:port"; empty when no transition runs.
  std::string DescribeChange() const;
  // The committed node list, or the target list during a transition.
  const std::vector<std::string>& target_nodes() const;

  // A state with an add / remove transition started at `now_ms`.
  // FailedPrecondition when a transition is already running or the change
  // would leave no node; AlreadyExists when adding a member; NotFound when
  // removing a non-member; InvalidArgument for an empty address.
  [[nodiscard]] absl::StatusOr<RingState> BeginAdd(std::string_view node, int64_t now_ms) const;
  [[nodiscard]] absl::StatusOr<RingState> BeginRemove(std::string_view node, int64_t now_ms) const;
  // The target becomes the committed ring with epoch + 1. FailedPrecondition
  // when no transition is running.
  [[nodiscard]] absl::StatusOr<RingState> Commit() const;
  // The transition is dropped; the old ring stays in force with its epoch.
  // FailedPrecondition when no transition is running.
  [[nodiscard]] absl::StatusOr<RingState> Abort() const;
  // The same ring with its clean-up done (cleanup_nodes cleared), as the
  // next version.
  [[nodiscard]] RingState CleanedUp() const;
};

// Where keys live under a RingState: the committed ring and, during a
// transition, the target ring. Builds both rings once (nodes * V hashes each),
// so make one per state change, not per request. Immutable; safe to share
// between threads without synchronization.
class RingPlacement {
 public:
  // InvalidArgument when `state` fails Validate().
  [[nodiscard]] static absl::StatusOr<RingPlacement> Create(RingState state);

  const RingState& state() const { return state_; }
  bool in_transition() const { return state_.in_transition(); }
  // The committed ring: where data is known to be.
  const HashRing& current() const { return current_; }
  // The ring being moved to; the committed ring when no transition runs.
  const HashRing& target() const { return target_; }

  // Where a write must go: the target replica set, then the committed set's
  // nodes not already in it. Just the committed set when no transition runs.
  std::vector<std::string> WriteSetFor(std::string_view key) const;
  // The order in which to try reads: the target set first (where the data
  // will be), then the rest of the committed set (where it was). The same
  // nodes as WriteSetFor; a separate name so callers say what they mean.
  std::vector<std::string> ReadOrderFor(std::string_view key) const;

 private:
  RingPlacement(RingState state, HashRing current, HashRing target);

  RingState state_;
  HashRing current_;
  HashRing target_;
};

}  // namespace dvs::content
