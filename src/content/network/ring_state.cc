#include "content/network/ring_state.h"

#include <algorithm>
#include <exception>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"

namespace dvs::content {
namespace {

using nlohmann::json;

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("ring state: ", common::AsAbsl(what)));
}

bool Has(const std::vector<std::string>& sorted, std::string_view node) {
  return std::binary_search(sorted.begin(), sorted.end(), node);
}

absl::Status CheckNodeList(const std::vector<std::string>& nodes, std::string_view name) {
  if (nodes.empty()) return Invalid(absl::StrCat(common::AsAbsl(name), " is empty"));
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].empty()) {
      return Invalid(absl::StrCat(common::AsAbsl(name), " has an empty address"));
    }
    if (i > 0 && nodes[i - 1] >= nodes[i]) {
      return Invalid(
          absl::StrCat(common::AsAbsl(name), " is not sorted and distinct at ", nodes[i]));
    }
  }
  return absl::OkStatus();
}

// The node list `nodes` becomes once the transition's change is applied.
std::vector<std::string> Changed(const std::vector<std::string>& nodes, TransitionKind kind,
                                 std::string_view node) {
  std::vector<std::string> result = nodes;
  if (kind == TransitionKind::kAdd) {
    result.insert(std::upper_bound(result.begin(), result.end(), node), std::string(node));
  } else {
    result.erase(std::remove(result.begin(), result.end(), node), result.end());
  }
  return result;
}

absl::StatusOr<std::vector<std::string>> NodesFromJson(const json& value, std::string_view name) {
  if (!value.is_array()) return Invalid(absl::StrCat(common::AsAbsl(name), " must be an array"));
  std::vector<std::string> nodes;
  for (const json& item : value) {
    if (!item.is_string()) return Invalid(absl::StrCat(common::AsAbsl(name), " must hold strings"));
    nodes.push_back(item.get<std::string>());
  }
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

absl::StatusOr<int> SmallIntFromJson(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_number_integer()) {
    return Invalid(absl::StrCat(name, " must be an integer"));
  }
  // Only guards the narrowing to int; Validate() checks the real bounds.
  int64_t value = it->get<int64_t>();
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    return Invalid(absl::StrCat(name, " out of range"));
  }
  return static_cast<int>(value);
}

absl::StatusOr<RingTransition> TransitionFromJson(const json& value) {
  if (!value.is_object()) return Invalid("transition must be an object or null");
  RingTransition transition;
  auto kind = value.find("kind");
  if (kind == value.end() || !kind->is_string()) return Invalid("transition.kind must be a string");
  if (*kind == "add") {
    transition.kind = TransitionKind::kAdd;
  } else if (*kind == "remove") {
    transition.kind = TransitionKind::kRemove;
  } else {
    return Invalid("transition.kind must be \"add\" or \"remove\"");
  }
  auto node = value.find("node");
  if (node == value.end() || !node->is_string()) return Invalid("transition.node must be a string");
  transition.node = node->get<std::string>();
  auto started = value.find("started_at_ms");
  if (started == value.end() || !started->is_number_integer()) {
    return Invalid("transition.started_at_ms must be an integer");
  }
  transition.started_at_ms = started->get<int64_t>();
  auto target = value.find("target_nodes");
  if (target == value.end()) return Invalid("transition.target_nodes is missing");
  ASSIGN_OR_RETURN(transition.target_nodes, NodesFromJson(*target, "transition.target_nodes"));
  return transition;
}

absl::StatusOr<RingState> StateFromJson(const json& root) {
  if (!root.is_object()) return Invalid("not a JSON object");
  RingState state;
  auto epoch = root.find("epoch");
  if (epoch == root.end() || !epoch->is_number_unsigned()) {
    return Invalid("epoch must be a non-negative integer");
  }
  state.epoch = epoch->get<uint64_t>();
  if (auto version = root.find("version"); version != root.end()) {
    if (!version->is_number_unsigned()) return Invalid("version must be a non-negative integer");
    state.version = version->get<uint64_t>();
  }
  auto nodes = root.find("nodes");
  if (nodes == root.end()) return Invalid("nodes is missing");
  ASSIGN_OR_RETURN(state.nodes, NodesFromJson(*nodes, "nodes"));
  ASSIGN_OR_RETURN(state.vnodes, SmallIntFromJson(root, "vnodes"));
  ASSIGN_OR_RETURN(state.replicas, SmallIntFromJson(root, "replicas"));
  auto transition = root.find("transition");
  if (transition != root.end() && !transition->is_null()) {
    ASSIGN_OR_RETURN(state.transition, TransitionFromJson(*transition));
  }
  if (auto cleanup = root.find("cleanup"); cleanup != root.end()) {
    ASSIGN_OR_RETURN(state.cleanup_nodes, NodesFromJson(*cleanup, "cleanup"));
  }
  RETURN_IF_ERROR(state.Validate());
  return state;
}

// Only one ring change may run at a time (DESIGN §8).
absl::Status NoTransitionRunning(const RingState& state) {
  if (!state.transition.has_value()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("a ring change is already running: ", state.DescribeChange()));
}

// A state with no transition, built field by field: copying `state` and
// resetting its transition trips a GCC 12 -Wmaybe-uninitialized false alarm.
RingState SettledState(const RingState& state, uint64_t epoch, std::vector<std::string> nodes) {
  RingState settled;
  settled.epoch = epoch;
  settled.version = state.version + 1;
  settled.nodes = std::move(nodes);
  settled.vnodes = state.vnodes;
  settled.replicas = state.replicas;
  return settled;
}

}  // namespace

std::string_view TransitionKindName(TransitionKind kind) {
  return kind == TransitionKind::kAdd ? "add" : "remove";
}

absl::StatusOr<RingState> RingState::Seed(std::vector<std::string> nodes, int vnodes,
                                          int replicas) {
  RingState state;
  state.epoch = 1;
  state.version = 1;
  std::sort(nodes.begin(), nodes.end());
  state.nodes = std::move(nodes);
  state.vnodes = vnodes;
  state.replicas = replicas;
  RETURN_IF_ERROR(state.Validate());
  return state;
}

std::string RingState::ToJson() const {
  json root = {{"epoch", epoch},   {"version", version},   {"nodes", nodes},
               {"vnodes", vnodes}, {"replicas", replicas}, {"transition", nullptr}};
  if (transition.has_value()) {
    root["transition"] = {{"kind", std::string(TransitionKindName(transition->kind))},
                          {"node", transition->node},
                          {"target_nodes", transition->target_nodes},
                          {"started_at_ms", transition->started_at_ms}};
  }
  if (!cleanup_nodes.empty()) root["cleanup"] = cleanup_nodes;
  return root.dump();
}

absl::StatusOr<RingState> RingState::FromJson(std::string_view text) {
  // Parsing is asked not to throw; the catch is for anything nlohmann still
  // throws (DESIGN §11: third-party exceptions stop at the edge).
  try {
    json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) return Invalid("not valid JSON");
    return StateFromJson(root);
  } catch (const std::exception& error) {
    return Invalid(error.what());
  }
}

absl::Status RingState::Validate() const {
  RETURN_IF_ERROR(CheckNodeList(nodes, "nodes"));
  if (vnodes < 1 || vnodes > kMaxVirtualNodes) return Invalid("vnodes out of range");
  if (replicas < 1 || replicas > kMaxReplicas) return Invalid("replicas out of range");
  if (!cleanup_nodes.empty()) RETURN_IF_ERROR(CheckNodeList(cleanup_nodes, "cleanup"));
  if (!transition.has_value()) return absl::OkStatus();
  const RingTransition& change = *transition;
  if (change.node.empty()) return Invalid("transition.node is empty");
  RETURN_IF_ERROR(CheckNodeList(change.target_nodes, "transition.target_nodes"));
  bool member = Has(nodes, change.node);
  if (change.kind == TransitionKind::kAdd && member) {
    return Invalid(absl::StrCat("adds ", change.node, ", already a member"));
  }
  if (change.kind == TransitionKind::kRemove && !member) {
    return Invalid(absl::StrCat("removes ", change.node, ", not a member"));
  }
  if (change.target_nodes != Changed(nodes, change.kind, change.node)) {
    return Invalid("transition.target_nodes does not match nodes and the change");
  }
  return absl::OkStatus();
}

std::string RingState::DescribeChange() const {
  if (!transition.has_value()) return "";
  return absl::StrCat(common::AsAbsl(TransitionKindName(transition->kind)), " ", transition->node);
}

const std::vector<std::string>& RingState::target_nodes() const {
  return transition.has_value() ? transition->target_nodes : nodes;
}

absl::StatusOr<RingState> RingState::BeginAdd(std::string_view node, int64_t now_ms) const {
  if (node.empty()) return absl::InvalidArgumentError("empty node address");
  RETURN_IF_ERROR(NoTransitionRunning(*this));
  if (Has(nodes, node)) {
    return absl::AlreadyExistsError(absl::StrCat(common::AsAbsl(node), " is already in the ring"));
  }
  RingState next = *this;
  ++next.version;
  next.cleanup_nodes.clear();  // settled first (RingChangeController); else left to repair
  next.transition = RingTransition{Changed(nodes, TransitionKind::kAdd, node), TransitionKind::kAdd,
                                   std::string(node), now_ms};
  return next;
}

absl::StatusOr<RingState> RingState::BeginRemove(std::string_view node, int64_t now_ms) const {
  if (node.empty()) return absl::InvalidArgumentError("empty node address");
  RETURN_IF_ERROR(NoTransitionRunning(*this));
  if (!Has(nodes, node)) {
    return absl::NotFoundError(absl::StrCat(common::AsAbsl(node), " is not in the ring"));
  }
  if (nodes.size() == 1) {
    return absl::FailedPreconditionError("cannot remove the last node of the ring");
  }
  RingState next = *this;
  ++next.version;
  next.cleanup_nodes.clear();  // as in BeginAdd
  next.transition = RingTransition{Changed(nodes, TransitionKind::kRemove, node),
                                   TransitionKind::kRemove, std::string(node), now_ms};
  return next;
}

absl::StatusOr<RingState> RingState::Commit() const {
  if (!transition.has_value()) return absl::FailedPreconditionError("no ring change to commit");
  RingState committed = SettledState(*this, epoch + 1, transition->target_nodes);
  // Old and new nodes: an add's are its target's, a remove's the old ring's.
  committed.cleanup_nodes =
      transition->kind == TransitionKind::kAdd ? transition->target_nodes : nodes;
  return committed;
}

RingState RingState::CleanedUp() const {
  RingState done = *this;
  ++done.version;
  done.cleanup_nodes.clear();
  return done;
}

absl::StatusOr<RingState> RingState::Abort() const {
  if (!transition.has_value()) return absl::FailedPreconditionError("no ring change to abort");
  return SettledState(*this, epoch, nodes);
}

absl::StatusOr<RingPlacement> RingPlacement::Create(RingState state) {
  RETURN_IF_ERROR(state.Validate());
  ASSIGN_OR_RETURN(HashRing current, HashRing::Create(state.nodes, state.vnodes, state.replicas));
  if (!state.transition.has_value()) {
    HashRing target = current;
    return RingPlacement(std::move(state), std::move(current), std::move(target));
  }
  ASSIGN_OR_RETURN(HashRing target,
                   HashRing::Create(state.transition->target_nodes, state.vnodes, state.replicas));
  return RingPlacement(std::move(state), std::move(current), std::move(target));
}

RingPlacement::RingPlacement(RingState state, HashRing current, HashRing target)
    : state_(std::move(state)), current_(std::move(current)), target_(std::move(target)) {}

std::vector<std::string> RingPlacement::WriteSetFor(std::string_view key) const {
  if (!in_transition()) return current_.ReplicaSetFor(key);
  std::vector<std::string> nodes = target_.ReplicaSetFor(key);
  for (std::string& node : current_.ReplicaSetFor(key)) {
    if (std::find(nodes.begin(), nodes.end(), node) == nodes.end())
      nodes.push_back(std::move(node));
  }
  return nodes;
}

std::vector<std::string> RingPlacement::ReadOrderFor(std::string_view key) const {
  return WriteSetFor(key);
}

}  // namespace dvs::content
