#include "content/network/hash_ring.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/strings.h"

namespace dvs::content {

uint64_t HashPoint(std::string_view text) {
  // The first 8 bytes of the digest are its first 16 hex digits; parsing them
  // as one base-16 number reads those bytes big-endian.
  std::string hex = common::Sha256Hex(text);
  uint64_t value = 0;
  auto [end, error] = std::from_chars(hex.data(), hex.data() + 16, value, 16);
  if (error != std::errc() || end != hex.data() + 16) std::abort();  // Sha256Hex broke its promise
  return value;
}

std::string PlacementKey(std::string_view folder, std::string_view filename) {
  return absl::StrCat(common::AsAbsl(folder), "/", common::AsAbsl(filename));
}

absl::StatusOr<HashRing> HashRing::Create(std::vector<std::string> nodes, int vnodes,
                                          int replicas) {
  if (vnodes < 1 || vnodes > kMaxVirtualNodes) {
    return absl::InvalidArgumentError(absl::StrCat("virtual nodes per node must be in [1, ",
                                                   kMaxVirtualNodes, "], got ", vnodes));
  }
  if (replicas < 1 || replicas > kMaxReplicas) {
    return absl::InvalidArgumentError(
        absl::StrCat("replicas must be in [1, ", kMaxReplicas, "], got ", replicas));
  }
  std::sort(nodes.begin(), nodes.end());
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].empty()) return absl::InvalidArgumentError("empty node address");
    if (i > 0 && nodes[i] == nodes[i - 1]) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate node address ", nodes[i]));
    }
  }
  return HashRing(std::move(nodes), vnodes, replicas);
}

HashRing::HashRing(std::vector<std::string> nodes, int vnodes, int replicas)
    : nodes_(std::move(nodes)),
      vnodes_(vnodes),
      replicas_(std::min<int>(replicas, static_cast<int>(nodes_.size()))) {
  points_.reserve(nodes_.size() * vnodes_);
  for (uint32_t node = 0; node < nodes_.size(); ++node) {
    points_.push_back({HashPoint(nodes_[node]), node});
    for (int i = 1; i < vnodes_; ++i) {
      points_.push_back({HashPoint(absl::StrCat(nodes_[node], "#", i)), node});
    }
  }
  std::sort(points_.begin(), points_.end(), [](const Point& a, const Point& b) {
    return std::tie(a.hash, a.node) < std::tie(b.hash, b.node);
  });
}

bool HashRing::Contains(std::string_view node) const {
  return std::binary_search(nodes_.begin(), nodes_.end(), node);
}

std::vector<uint32_t> HashRing::ReplicaIndicesFor(std::string_view key) const {
  std::vector<uint32_t> found;
  if (points_.empty()) return found;
  const uint64_t target = HashPoint(key);
  auto first =
      std::lower_bound(points_.begin(), points_.end(), target,
                       [](const Point& point, uint64_t hash) { return point.hash < hash; });
  size_t start = static_cast<size_t>(first - points_.begin());
  // Walk at most once around the ring; R <= number of nodes, so this always
  // fills the set.
  for (size_t step = 0; step < points_.size() && found.size() < static_cast<size_t>(replicas_);
       ++step) {
    uint32_t node = points_[(start + step) % points_.size()].node;
    if (std::find(found.begin(), found.end(), node) == found.end()) found.push_back(node);
  }
  return found;
}

absl::StatusOr<std::string> HashRing::OwnerOf(std::string_view key) const {
  std::vector<uint32_t> indices = ReplicaIndicesFor(key);
  if (indices.empty()) return absl::FailedPreconditionError("the hash ring has no nodes");
  return nodes_[indices.front()];
}

std::vector<std::string> HashRing::ReplicaSetFor(std::string_view key) const {
  std::vector<std::string> set;
  for (uint32_t index : ReplicaIndicesFor(key)) set.push_back(nodes_[index]);
  return set;
}

}  // namespace dvs::content
