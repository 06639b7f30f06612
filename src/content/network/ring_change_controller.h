// RingChangeController: runs the ring changes of one web server (DESIGN §5):
// adding and removing storage nodes with migration, and keeping the ring
// state in force (LivePlacement) in step with the stored one (RingStateStore).
// NetworkContentService's data path only reads the placement in force; this
// class is the only one that stores ring states.
//
// A change runs as a transition: the state is stored with the transition,
// reads and writes switch to it at once, the keys that move are copied, then
// the new ring is committed and only then are old copies deleted: the nodes
// are walked again batch by batch (CleanUpAfterChange), so neither step
// holds a list the size of the library. A failed copy aborts the change:
// the old ring stays in force.
//
// Crashes: the stored transition is the change's progress. Its copies are
// found again by listing the nodes (a copy already made is not planned
// again), so a transition left by a server that stopped is resumed and
// completed, never thrown away: by the same server after its restart, or in
// etcd mode by whichever server takes the change lock once the owner's lease
// has lapsed. A background thread looks every `takeover_every` for a
// transition in force with the lock free; the next change or repair resumes
// one too before it starts. Until then reads and writes use both rings of
// the transition, so nothing is missed meanwhile. The clean-up after a
// commit is owed in the stored ring (RingState::cleanup_nodes) until it has
// walked every node of the change: a crash before that leaves it to the
// next holder of the lock in the same way (the takeover thread, the next
// change or repair), which walks the nodes again and deletes what is left.
//
// Fencing: every ring-state write of a change is RingStateStore::StoreFenced
// under the change lease, so a server whose lease lapsed (a partition) can
// store nothing once another has taken the lock. Versions strictly increase:
// a state is stored with a version above every version this server has put
// in force or tried to store, and whoever takes the lock first catches up
// with the store. A store that refused or failed leaves the transition in
// force here (its two rings hold every file) rather than a state nobody
// stored.
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
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "content/network/cluster_admin.h"
#include "content/network/holdings_scanner.h"
#include "content/network/live_placement.h"
#include "content/network/ring_change_lock.h"
#include "content/network/ring_state.h"

namespace dvs::content {

class NodePool;
class ProgressReporter;
struct NodeWalk;

struct RingChangeOptions {
  std::shared_ptr<RingChangeLock> change_lock;  // never empty
  size_t copy_parallelism = 4;
  // Keys per listing call when a change walks the nodes (HoldingsScanner).
  size_t scan_page_size = HoldingsScanner::kDefaultPageSize;
  std::function<int64_t()> now_ms;  // never empty
  bool shared_store = false;
  // After a commit, how long old copies stay for other servers to hear of it.
  std::chrono::milliseconds cleanup_delay{0};
  // How often to look for a transition left by a server that stopped. Zero:
  // never (then only the next change or repair resumes it).
  std::chrono::milliseconds takeover_every{std::chrono::seconds(2)};
  // Tests only: a pause once a new change's transition is stored.
  std::chrono::milliseconds test_pause_after_begin{0};
};

// Counters since the controller was made, for logs and /metrics.
struct RingChangeStats {
  uint64_t committed = 0;
  uint64_t aborted = 0;
  uint64_t cleanup_failures = 0;  // old copies not deleted after a commit
  uint64_t resumed = 0;           // transitions taken over after a crash
};

class RingChangeController {
 public:
  // The stored state, or one seeded from `seed_nodes` (and stored) when the
  // store is empty. A stored transition is returned as it is: it is resumed
  // once the controller runs (Start).
  [[nodiscard]] static absl::StatusOr<RingState> LoadOrSeed(
      const std::vector<std::string>& seed_nodes, int vnodes, int replicas, RingStateStore& store);

  RingChangeController(RingChangeOptions options, RingStateStore& store, NodePool& pool,
                       LivePlacement& placement);
  // Stops the takeover thread, and a change it runs (that change's
  // transition stays stored and is resumed later, and a clean-up it runs
  // stops before its next batch).
  ~RingChangeController();
  RingChangeController(const RingChangeController&) = delete;
  RingChangeController& operator=(const RingChangeController&) = delete;

  // Starts the thread that resumes transitions left by a crash; the first
  // look is at once.
  void Start();

  // See ClusterAdmin.
  [[nodiscard]] absl::StatusOr<uint64_t> AddNode(std::string_view address,
                                                 const ClusterProgressCallback& progress);
  [[nodiscard]] absl::StatusOr<uint64_t> RemoveNode(std::string_view address,
                                                    const ClusterProgressCallback& progress);

  // The change lock, for work that must not overlap a change (repair).
  [[nodiscard]] absl::StatusOr<std::unique_ptr<RingChangeLease>> Lock(std::string_view what);
  // With `lease` held: the freshest state, with any transition in it (its
  // owner is gone, or we would not hold the lock) resumed and finished
  // (committed, or aborted when a copy fails), and a clean-up still owed
  // after a commit done. An error when the transition could not be
  // finished: it stays in force.
  [[nodiscard]] absl::StatusOr<RingState> SettledStateUnderLock(const RingChangeLease& lease);
  // shared_store: loads the stored state and adopts it when newer. Returns
  // whether `version` (the state a write used) is still the stored one.
  [[nodiscard]] absl::StatusOr<bool> CatchUpWithStore(uint64_t version);
  // A state another web server stored: put in force when newer than the one
  // in force, else ignored. InvalidArgument for a state that fails Validate().
  [[nodiscard]] absl::Status AdoptState(const RingState& state);

  RingChangeStats stats() const;

 private:
  // Stores `state` fenced by `lease`, with a version above any seen here,
  // then puts it in force. Nothing changes here when storing fails.
  [[nodiscard]] absl::Status InstallState(RingState state, const RingChangeLease& lease);
  // Runs the transition `next` to its end; `resuming`: it is already stored
  // and in force (left by a crash).
  [[nodiscard]] absl::StatusOr<uint64_t> RunChange(const RingState& next,
                                                   const RingChangeLease& lease,
                                                   ProgressReporter& progress, bool resuming);
  // After a commit, with `committed` in force: deletes the copies its ring
  // no longer wants on its cleanup_nodes (CleanUpAfterChange), then stores
  // it cleaned up. Stopped first (stopping, or the lease lost), the clean-up
  // stays owed in the stored state; what the walk could not do (a node down,
  // a failed delete), a repair does.
  void CleanUp(const RingState& committed, const RingChangeLease& lease, const std::string& change,
               ProgressReporter& progress);
  [[nodiscard]] absl::Status AbortChange(const RingState& transition, const RingChangeLease& lease,
                                         const absl::Status& why);
  // OK when `node` answers Info (after a few tries); else Unavailable.
  [[nodiscard]] absl::Status ProbeNewNode(const std::string& node);
  // Takes the lock and resumes a transition in force, when both are there.
  void TakeOverIfOrphaned();
  void TakeOverLoop();

  const RingChangeOptions options_;
  RingStateStore& store_;
  NodePool& pool_;
  LivePlacement& placement_;

  // The highest version put in force or offered to the store here.
  std::atomic<uint64_t> highest_version_{0};
  std::atomic<uint64_t> committed_{0};
  std::atomic<uint64_t> aborted_{0};
  std::atomic<uint64_t> cleanup_failures_{0};
  std::atomic<uint64_t> resumed_{0};

  // stop_ is set once, at destruction; stop_wake_ (with stop_mutex_) wakes
  // the takeover thread then, and running copies read stop_ to end early.
  std::mutex stop_mutex_;
  std::condition_variable stop_wake_;
  std::atomic<bool> stop_{false};
  std::thread taker_;  // last: it uses the members above
};

}  // namespace dvs::content
