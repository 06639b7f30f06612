// Consistent hashing for the network content service (DESIGN §5): which storage
// nodes hold a file. Pure placement logic; no networking.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace dvs::content {

// Defaults from DESIGN §5.
inline constexpr int kDefaultVirtualNodes = 128;
inline constexpr int kDefaultReplicas = 3;
// Bounds that keep a ring read from storage from asking for absurd memory.
inline constexpr int kMaxVirtualNodes = 4096;
inline constexpr int kMaxReplicas = 64;

// The ring position of `text`: the first 8 bytes of SHA-256(text) read as a
// big-endian integer. Fixed forever: changing it moves every stored file.
uint64_t HashPoint(std::string_view text);

// The ring key of a file: folder + "/" + filename, where the folder is a
// video folder ("clip" or "clip/<generation>"); also its storage key.
std::string PlacementKey(std::string_view folder, std::string_view filename);

// A consistent-hash ring over storage node addresses. Each node owns V points:
// HashPoint(address) and HashPoint(address + "#" + i) for i = 1..V-1. A key's
// replica set is the first R distinct nodes met walking clockwise from the
// first point >= HashPoint(key), wrapping around. Points with equal hashes are
// ordered by node address, so placement never depends on input order. With
// V = 1 and R = 1 this is the reference's rule: the successor of the key's hash
// among the nodes' hashes.
//
// Immutable after construction, hence safe to share between threads without
// synchronization. Copyable; copies are cheap for small clusters (nodes * V
// points).
class HashRing {
 public:
  // InvalidArgument for an empty or duplicate address, or V / R outside
  // [1, kMaxVirtualNodes] / [1, kMaxReplicas]. An empty node list is allowed and
  // gives a ring that places nothing. The effective R is
  // min(replicas, nodes.size()).
  [[nodiscard]] static absl::StatusOr<HashRing> Create(std::vector<std::string> nodes,
                                                       int vnodes = kDefaultVirtualNodes,
                                                       int replicas = kDefaultReplicas);

  // The node addresses, sorted.
  const std::vector<std::string>& nodes() const { return nodes_; }
  int vnodes() const { return vnodes_; }
  // The effective replica count: min(configured, number of nodes).
  int replicas() const { return replicas_; }
  bool empty() const { return nodes_.empty(); }
  bool Contains(std::string_view node) const;

  // The first node of ReplicaSetFor(key); FailedPrecondition on an empty ring.
  [[nodiscard]] absl::StatusOr<std::string> OwnerOf(std::string_view key) const;
  // replicas() distinct nodes in ring order, owner first; empty on an empty ring.
  std::vector<std::string> ReplicaSetFor(std::string_view key) const;

 private:
  struct Point {
    uint64_t hash;
    uint32_t node;  // index into nodes_; nodes_ is sorted, so index order is address order
  };

  HashRing(std::vector<std::string> nodes, int vnodes, int replicas);
  std::vector<uint32_t> ReplicaIndicesFor(std::string_view key) const;

  std::vector<std::string> nodes_;
  int vnodes_;
  int replicas_;
  std::vector<Point> points_;  // sorted by (hash, node)
};

}  // namespace dvs::content
