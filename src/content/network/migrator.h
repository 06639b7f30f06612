// The steps of a ring change or repair that touch the nodes: carry out a
// MigrationPlan's copies (in parallel, bounded) and its deletions, batch by
// batch for a ring change (CopyForChange before the commit,
// CleanUpAfterChange after it), and report progress. The decisions (what to
// copy, when to commit or abort) are RingChangeController's and
// NetworkContentService's.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "content/network/cluster_admin.h"
#include "content/network/holdings_scanner.h"
#include "content/network/migration_plan.h"
#include "content/network/node_pool.h"
#include "content/network/replicated_io.h"

namespace dvs::content {

// Passes progress to a ClusterProgressCallback (which may be empty) from
// many worker threads, one call at a time. Thread-safe: mutex_ guards
// progress_ and serializes the callback.
class ProgressReporter {
 public:
  explicit ProgressReporter(const ClusterProgressCallback& callback) : callback_(callback) {}
  // Starts a phase of `total` units.
  void Phase(std::string_view phase, uint64_t total, std::string_view message = "");
  // One more unit done, which copied `bytes`.
  void Step(std::string_view message = "", uint64_t bytes = 0);

 private:
  const ClusterProgressCallback& callback_;
  std::mutex mutex_;
  ClusterProgress progress_;
  uint64_t bytes_copied_ = 0;  // kept across phases
};

struct FailedCopy {
  CopyTask task;
  absl::Status status;
};

struct CopyResults {
  uint64_t made = 0;
  std::vector<FailedCopy> failed;
  // Tasks not started because an earlier one failed (stop_at_first_failure).
  uint64_t skipped = 0;
};

// Runs `copies` on up to `parallelism` threads, each streaming from the first
// working source to the destination. With stop_at_first_failure, no new
// copy starts once one has failed (a ring change aborts then anyway). No new
// copy starts either once `stop` (when given) is true.
CopyResults ExecuteCopies(NodePool& pool, const std::vector<CopyTask>& copies, size_t parallelism,
                          bool stop_at_first_failure, ProgressReporter& progress,
                          const std::atomic<bool>* stop = nullptr);

struct DeleteResults {
  uint64_t deleted = 0;
  uint64_t failed = 0;  // logged; a later Repair removes what is left
};

// Deletes each task's key from its node, skipping keys in `keep` (keys whose
// copies did not all succeed must keep every copy they have).
DeleteResults ExecuteDeletions(NodePool& pool, const std::vector<DeleteTask>& deletions,
                               size_t parallelism, const std::set<std::string>& keep,
                               ProgressReporter& progress);

// How a ring change walks the nodes: which, and how many keys a listing
// call returns (HoldingsScanner's page).
struct NodeWalk {
  std::vector<std::string> nodes;
  size_t page_size = HoldingsScanner::kDefaultPageSize;
};

struct ChangeCopies {
  uint64_t files_to_migrate = 0;  // distinct keys copied (MigrationPlan's count)
  uint64_t made = 0;
  std::vector<FailedCopy> failed;  // non-empty: the change must abort
};

// The copies of a move from `old_ring` to `new_ring`, planned and made batch
// by batch as a HoldingsScanner walks the nodes in key order (memory bounded
// by the batch, not the key count). Stops at the first failed batch, and
// before the next batch once `stopped` returns true.
ChangeCopies CopyForChange(NodePool& pool, const HashRing& old_ring, const HashRing& new_ring,
                           const NodeWalk& walk, size_t parallelism, ProgressReporter& progress,
                           const std::atomic<bool>* stop, const std::function<bool()>& stopped);

struct CleanupResults {
  uint64_t keys_checked = 0;
  uint64_t deleted = 0;
  uint64_t failed = 0;          // deletions that failed (logged)
  uint64_t kept_keys = 0;       // keys a node of their replica set lacks: every copy kept
  uint64_t kept_copies = 0;     // copies outside the replica set kept for those keys
  uint64_t unlisted_nodes = 0;  // nodes whose listing failed: nothing deleted past the failure
  bool stopped = false;         // ended early, before the last batch
};

// After a commit: walks the nodes again (the committed ring's nodes, plus a
// removed node, which is to be emptied) batch by batch, and deletes each
// key's copies outside its replica set under the committed `ring`, but only
// for keys every node of that set holds: the rule PlanMigration's deletions
// follow, which a repair with the same ring runs too. A key some node of its
// set lacks (lost since its copy, or on a node that could not be listed)
// keeps every copy; repair copies it later. Deletions keep ExecuteDeletions'
// order (per node and video id, in order; batches one after another). Memory
// is bounded by the batch. Stops before the next batch once `stopped`
// returns true.
CleanupResults CleanUpAfterChange(NodePool& pool, const HashRing& ring, const NodeWalk& walk,
                                  size_t parallelism, ProgressReporter& progress,
                                  const std::function<bool()>& stopped);

// One line for an error message: the first few failed copies.
std::string DescribeFailedCopies(const std::vector<FailedCopy>& failed);

}  // namespace dvs::content
