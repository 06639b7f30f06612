// RingChangeController: runs the ring changes of one web server (DESIGN §5):
// adding and removing storage nodes with migration, and keeping the ring
// state in force (LivePlacement) in step with the stored one (RingStateStore).
// NetworkContentService's data path only reads the placement in force; this
// class is the only one that stores ring states.
//
// A change runs as a transition: the state is stored with the transition,
// reads and writes switch to it at once, the keys that move are copied, then
// the new ring is committed and only then are old copies deleted. A failed
// copy aborts the change: the old ring stays in force. At Open, a transition
// left by a crash is aborted (not resumed): nothing has been deleted before
// a commit, so the old ring still has every file, and the copies already
// made are strays that Repair() removes. A transition found stored is
// aborted only by whoever holds the change lock: at Open when the lock is
// free, else by the next change or repair (its owner died; its lease has
// lapsed).
//
// With a shared store (several web servers, etcd), each server learns of
// the others' changes through AdoptState (a watch on the store) and by
// CatchUpWithStore after its writes; states are ordered by their version.
//
// Thread-safe: every method may be called from many threads; changes run one
// at a time (RingChangeLock). The store, pool and placement must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "content/network/cluster_admin.h"
#include "content/network/live_placement.h"
#include "content/network/ring_change_lock.h"
#include "content/network/ring_state.h"

namespace dvs::content {

class NodePool;
class ProgressReporter;

struct RingChangeOptions {
  std::shared_ptr<RingChangeLock> change_lock;  // never empty
  size_t copy_parallelism = 4;
  std::function<int64_t()> now_ms;  // never empty
  bool shared_store = false;
  // After a commit, how long old copies stay for other servers to hear of it.
  std::chrono::milliseconds cleanup_delay{0};
};

// Counters since the controller was made, for logs and /metrics.
struct RingChangeStats {
  uint64_t committed = 0;
  uint64_t aborted = 0;
  uint64_t cleanup_failures = 0;  // old copies not deleted after a commit
};

class RingChangeController {
 public:
  // The stored state, or one seeded from `seed_nodes` (and stored) when the
  // store is empty. A stored transition is aborted (and the aborted state
  // stored) unless another server holds `lock` and so is running it.
  [[nodiscard]] static absl::StatusOr<RingState> LoadOrSeed(
      const std::vector<std::string>& seed_nodes, int vnodes, int replicas, RingStateStore& store,
      RingChangeLock& lock);

  RingChangeController(RingChangeOptions options, RingStateStore& store, NodePool& pool,
                       LivePlacement& placement);

  // See ClusterAdmin.
  [[nodiscard]] absl::StatusOr<uint64_t> AddNode(std::string_view address,
                                                 const ClusterProgressCallback& progress);
  [[nodiscard]] absl::StatusOr<uint64_t> RemoveNode(std::string_view address,
                                                    const ClusterProgressCallback& progress);

  // The change lock, for work that must not overlap a change (repair).
  [[nodiscard]] absl::StatusOr<std::unique_ptr<RingChangeLease>> Lock(std::string_view what);
  // With the change lock held: the freshest state, with any transition in it
  // (its owner is gone, or we would not hold the lock) aborted and stored.
  [[nodiscard]] absl::StatusOr<RingState> SettledStateUnderLock();
  // shared_store: loads the stored state and adopts it when newer. Returns
  // whether `version` (the state a write used) is still the stored one.
  [[nodiscard]] absl::StatusOr<bool> CatchUpWithStore(uint64_t version);
  // A state another web server stored: put in force when newer than the one
  // in force, else ignored. InvalidArgument for a state that fails Validate().
  [[nodiscard]] absl::Status AdoptState(const RingState& state);

  RingChangeStats stats() const;

 private:
  // Stores `state`, then puts it in force. Nothing changes when storing fails.
  [[nodiscard]] absl::Status InstallState(const RingState& state);
  [[nodiscard]] absl::StatusOr<uint64_t> RunChange(const RingState& next,
                                                   const RingChangeLease& lease,
                                                   ProgressReporter& progress);
  [[nodiscard]] absl::Status AbortChange(const RingState& transition, const absl::Status& why);

  const RingChangeOptions options_;
  RingStateStore& store_;
  NodePool& pool_;
  LivePlacement& placement_;

  std::atomic<uint64_t> committed_{0};
  std::atomic<uint64_t> aborted_{0};
  std::atomic<uint64_t> cleanup_failures_{0};
};

}  // namespace dvs::content
