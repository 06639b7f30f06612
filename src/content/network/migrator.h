// The steps of a ring change or repair that touch the nodes: list what every
// node holds, carry out a MigrationPlan's copies (in parallel, bounded) and
// its deletions, and report progress. The decisions (what to copy, when to
// commit or abort) are NetworkContentService's.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "content/network/cluster_admin.h"
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
  // One more unit done.
  void Step(std::string_view message = "");

 private:
  const ClusterProgressCallback& callback_;
  std::mutex mutex_;
  ClusterProgress progress_;
};

struct NodeHoldings {
  StoredKeys stored;
  // Nodes that could not be listed; their holdings count as absent, so the
  // plan copies their keys from others and deletes nothing from them.
  std::vector<NodeAttempt> unlisted;
};

// Lists every blob of each of `nodes`, in parallel.
NodeHoldings GatherHoldings(NodePool& pool, const std::vector<std::string>& nodes);

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

// One line for an error message: the first few failed copies.
std::string DescribeFailedCopies(const std::vector<FailedCopy>& failed);

}  // namespace dvs::content
