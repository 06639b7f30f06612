// NetworkContentService's ClusterAdmin half: status and repair here; ring
// changes are RingChangeController's (ring_change_controller.h).
#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "content/network/holdings_scanner.h"
#include "content/network/migrator.h"
#include "content/network/network_content_service.h"
#include "content/network/node_pool.h"
#include "spdlog/spdlog.h"

namespace dvs::content {
namespace {

// Failed copies kept for a repair's error message (the count says the rest).
constexpr size_t kFailuresKept = 5;

}  // namespace

absl::StatusOr<std::vector<std::string>> NetworkContentService::ListNodes() {
  return ring_state().nodes;
}

absl::StatusOr<uint64_t> NetworkContentService::AddNode(std::string_view address,
                                                        const ClusterProgressCallback& progress) {
  return ring_.AddNode(address, progress);
}

absl::StatusOr<uint64_t> NetworkContentService::RemoveNode(
    std::string_view address, const ClusterProgressCallback& progress) {
  return ring_.RemoveNode(address, progress);
}

NodeStatus NetworkContentService::ProbeNode(const std::string& address) {
  absl::StatusOr<storage::NodeInfo> info = pool_->Client(address).Info();
  pool_->Report(address, info.status());
  if (!info.ok())
    return NodeStatus{.address = address, .error = std::string(info.status().message())};
  return NodeStatus{.address = address,
                    .healthy = true,
                    .node_id = info->node_id,
                    .bytes_used = info->bytes_used,
                    .bytes_free = info->bytes_free,
                    .blob_count = info->blob_count};
}

absl::StatusOr<uint64_t> NetworkContentService::DropUnreferencedKeys(StoredKeys& stored) {
  std::map<std::string, bool> referenced;
  uint64_t dropped = 0;
  for (auto it = stored.begin(); it != stored.end();) {
    ASSIGN_OR_RETURN(bool wanted, janitor_->KeyIsReferenced(it->first, referenced));
    if (wanted) {
      ++it;
    } else {
      it = stored.erase(it);
      ++dropped;
    }
  }
  return dropped;
}

absl::StatusOr<ClusterStatus> NetworkContentService::Status() {
  ClusterStatus status{.ring = ring_state()};
  const std::vector<std::string> nodes = AllNodesOf(status.ring);
  status.nodes.resize(nodes.size());
  ParallelFor(nodes.size(), nodes.size(), [&](size_t i) { status.nodes[i] = ProbeNode(nodes[i]); });
  return status;
}

// Brings every listed key to exactly its replica set. A key whose copies did
// not all succeed keeps its stray copies: they may be the good ones.
absl::StatusOr<RepairReport> NetworkContentService::Repair(
    const ClusterProgressCallback& progress) {
  ASSIGN_OR_RETURN(std::unique_ptr<RingChangeLease> lease, ring_.Lock("repair"));
  RETURN_IF_ERROR(ring_.SettledStateUnderLock(*lease).status());
  ProgressReporter reporter(progress);
  // Deletes first, so that a node that was down when a video was deleted
  // drops its copies instead of having them copied back.
  reporter.Phase("planning", 0, "finishing deletes that missed a node");
  absl::StatusOr<uint64_t> deletes_pending = janitor_->RetryDeletes();
  RETURN_IF_ERROR(deletes_pending.status());
  reporter.Phase("planning", 0, "listing the files on every node");
  std::shared_ptr<const RingPlacement> placement = placement_.Current();
  const HashRing& ring = placement->current();
  // Batch by batch in key order: memory stays bounded however many keys.
  HoldingsScanner scanner(*pool_, ring.nodes(), options_.scan_page_size);
  RepairReport report;
  uint64_t unreferenced = 0;
  uint64_t copies_failed = 0;
  uint64_t deletions_failed = 0;
  std::vector<FailedCopy> failures;  // the first few, for the message
  for (StoredKeys batch = scanner.Next(); !batch.empty(); batch = scanner.Next()) {
    ASSIGN_OR_RETURN(uint64_t dropped, DropUnreferencedKeys(batch));
    unreferenced += dropped;
    report.keys_checked += batch.size();
    MigrationPlan plan = PlanMigration(ring, ring, batch);
    CopyResults copies =
        ExecuteCopies(*pool_, plan.copies, options_.copy_parallelism, false, reporter);
    std::set<std::string> keep;
    for (const FailedCopy& failed : copies.failed) keep.insert(failed.task.key);
    DeleteResults deleted =
        ExecuteDeletions(*pool_, plan.deletions, options_.copy_parallelism, keep, reporter);
    report.copies_made += copies.made;
    report.copies_deleted += deleted.deleted;
    report.lost_keys.insert(report.lost_keys.end(), plan.lost_keys.begin(), plan.lost_keys.end());
    copies_failed += copies.failed.size();
    deletions_failed += deleted.failed;
    for (FailedCopy& failed : copies.failed) {
      if (failures.size() < kFailuresKept) failures.push_back(std::move(failed));
    }
  }
  spdlog::info(
      "repair: {} keys checked, {} copies made, {} stray copies deleted; {} keys no record "
      "references left to garbage collection; {} deletes still pending",
      report.keys_checked, report.copies_made, report.copies_deleted, unreferenced,
      *deletes_pending);
  if (absl::StatusOr<GcReport> gc = janitor_->CollectGarbage(); gc.ok()) {
    spdlog::info("repair: garbage collection found {} unreferenced folders, deleted {}",
                 gc->unreferenced, gc->deleted);
  } else if (!absl::IsFailedPrecondition(gc.status())) {
    spdlog::warn("repair: garbage collection: {}", gc.status().message());
  }
  if (copies_failed == 0 && scanner.unlisted().empty() && deletions_failed == 0) return report;
  return absl::UnavailableError(absl::StrCat(
      "repair incomplete (", report.copies_made, " copies made, ", report.copies_deleted,
      " deleted): ", scanner.unlisted().size(), " nodes could not be listed, ", copies_failed,
      " copies and ", deletions_failed, " deletions failed", failures.empty() ? "" : ": ",
      DescribeFailedCopies(failures)));
}

}  // namespace dvs::content
