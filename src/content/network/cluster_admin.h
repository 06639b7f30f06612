// ClusterAdmin: what the admin service (src/admin) asks of the storage
// cluster behind the network content service — list, add and remove storage
// nodes with migration, report status, repair. Implementations are
// thread-safe; at most one ring change runs at a time (a second one gets
// FailedPrecondition naming the one in progress).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "content/network/ring_change_lock.h"
#include "content/network/ring_state.h"

namespace dvs::content {

// Progress of a long operation, for a progress bar: `done` of `total` units
// (files) in `phase` ("planning", "copying", "committing", "cleaning up").
struct ClusterProgress {
  std::string phase;
  uint64_t done = 0;
  uint64_t total = 0;
  std::string message;
  // Bytes copied so far by the whole operation (every batch and phase).
  uint64_t bytes_copied = 0;
};
using ClusterProgressCallback = std::function<void(const ClusterProgress&)>;

struct NodeStatus {
  std::string address;
  bool healthy = false;
  std::string error;  // why it is not healthy
  std::string node_id;
  uint64_t bytes_used = 0;
  uint64_t bytes_free = 0;
  uint64_t blob_count = 0;
};

struct ClusterStatus {
  RingState ring;
  std::vector<NodeStatus> nodes;  // every node of the ring (and of a transition's target)
};

struct RepairReport {
  uint64_t keys_checked = 0;
  uint64_t copies_made = 0;
  uint64_t copies_deleted = 0;         // stray copies on nodes that do not own them
  std::vector<std::string> lost_keys;  // no healthy holder left
};

class ClusterAdmin {
 public:
  virtual ~ClusterAdmin() = default;

  // The committed ring's nodes, sorted.
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::string>> ListNodes() = 0;
  // Adds a storage node and migrates the keys it now owns; returns the count
  // of files migrated. AlreadyExists when present, Unavailable when the node
  // does not answer, FailedPrecondition while another change runs; on a
  // failed copy the change is aborted and the old ring stays in force.
  [[nodiscard]] virtual absl::StatusOr<uint64_t> AddNode(
      std::string_view address, const ClusterProgressCallback& progress) = 0;
  // Removes a node (alive or dead), re-replicating its keys from surviving
  // holders; returns the count of files migrated. NotFound when it is not a
  // member, FailedPrecondition for the last node or while another change runs.
  [[nodiscard]] virtual absl::StatusOr<uint64_t> RemoveNode(
      std::string_view address, const ClusterProgressCallback& progress) = 0;
  [[nodiscard]] virtual absl::StatusOr<ClusterStatus> Status() = 0;
  // Scans every node and brings each key to exactly its replica set.
  [[nodiscard]] virtual absl::StatusOr<RepairReport> Repair(
      const ClusterProgressCallback& progress) = 0;
};

// Where the ring state document is kept (the metadata backend: SQLite now,
// etcd later). Thread-safe.
class RingStateStore {
 public:
  virtual ~RingStateStore() = default;
  // nullopt when nothing has been stored yet.
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>> Load() = 0;
  // Unfenced: for seeding an empty store only.
  [[nodiscard]] virtual absl::Status Store(std::string_view state) = 0;
  // Stores `state` only while `lease` still holds the ring-change lock;
  // FailedPrecondition, storing nothing, once it does not (another holder
  // may have taken it). Every write of a running change goes through here.
  // This default, for a store only this process writes (SQLite), checks
  // lost() only: an in-process lock cannot move to another process.
  [[nodiscard]] virtual absl::Status StoreFenced(std::string_view state,
                                                 const RingChangeLease& lease) {
    if (lease.lost()) return LockMovedError();
    return Store(state);
  }

 protected:
  static absl::Status LockMovedError() {
    return absl::FailedPreconditionError(
        "the ring-change lock is no longer held by this server (its lease lapsed; another "
        "server may have taken it): the ring state was not stored");
  }
};

}  // namespace dvs::content
