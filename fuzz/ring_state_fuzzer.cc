// The ring state read back from the metadata backend (`/dvs/ring`): JSON that
// may be damaged. FromJson must never throw or crash; a state it accepts is
// valid, survives ToJson and parsing again unchanged, and (when small enough
// to build quickly) places keys on distinct nodes of its rings.
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "check.h"
#include "content/network/ring_state.h"

namespace {

using dvs::fuzz::Check;

constexpr size_t kMaxPointsToBuild = 20000;

void CheckPlacement(const dvs::content::RingState& state) {
  absl::StatusOr<dvs::content::RingPlacement> placement =
      dvs::content::RingPlacement::Create(state);
  Check(placement.ok());
  std::set<std::string> known(state.nodes.begin(), state.nodes.end());
  known.insert(state.target_nodes().begin(), state.target_nodes().end());
  for (std::string_view key : {"a/b", "video/manifest.mpd", ""}) {
    std::vector<std::string> nodes = placement->WriteSetFor(key);
    Check(!nodes.empty());
    std::set<std::string> distinct(nodes.begin(), nodes.end());
    Check(distinct.size() == nodes.size());
    for (const std::string& node : nodes) Check(known.count(node) == 1);
    Check(placement->ReadOrderFor(key) == nodes);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<dvs::content::RingState> state = dvs::content::RingState::FromJson(json);
  if (!state.ok()) {
    Check(state.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  Check(state->Validate().ok());
  absl::StatusOr<dvs::content::RingState> again =
      dvs::content::RingState::FromJson(state->ToJson());
  Check(again.ok() && *again == *state);
  size_t most_nodes = std::max(state->nodes.size(), state->target_nodes().size());
  if (most_nodes * static_cast<size_t>(state->vnodes) <= kMaxPointsToBuild) CheckPlacement(*state);
  return 0;
}
