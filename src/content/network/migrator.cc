#include "content/network/migrator.h"

#include <atomic>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/strings.h"
#include "content/network/holdings_scanner.h"
#include "spdlog/spdlog.h"

namespace dvs::content {
namespace {

// Enough to see what went wrong without a message the size of the plan.
constexpr size_t kFailuresInMessage = 5;

}  // namespace

void ProgressReporter::Phase(std::string_view phase, uint64_t total, std::string_view message) {
  std::lock_guard lock(mutex_);
  progress_ = ClusterProgress{std::string(phase), 0, total, std::string(message), bytes_copied_};
  if (callback_) callback_(progress_);
}

void ProgressReporter::Step(std::string_view message, uint64_t bytes) {
  std::lock_guard lock(mutex_);
  ++progress_.done;
  bytes_copied_ += bytes;
  progress_.bytes_copied = bytes_copied_;
  progress_.message = std::string(message);
  if (callback_) callback_(progress_);
}

CopyResults ExecuteCopies(NodePool& pool, const std::vector<CopyTask>& copies, size_t parallelism,
                          bool stop_at_first_failure, ProgressReporter& progress,
                          const std::atomic<bool>* stop) {
  progress.Phase("copying", copies.size());
  std::vector<absl::Status> results(copies.size());
  std::vector<char> started(copies.size(), 0);  // not vector<bool>: workers write apart
  std::atomic<bool> failed{false};
  ParallelFor(copies.size(), parallelism, [&](size_t i) {
    if (stop_at_first_failure && failed.load()) return;
    if (stop != nullptr && stop->load()) return;
    started[i] = 1;  // each index is written by exactly one worker
    const CopyTask& task = copies[i];
    absl::StatusOr<uint64_t> copied = CopyBlob(pool, task.key, task.sources, task.destination);
    results[i] = copied.status();
    if (!results[i].ok()) failed = true;
    progress.Step(absl::StrCat(task.key, " -> ", task.destination), copied.value_or(0));
  });
  CopyResults outcome;
  for (size_t i = 0; i < copies.size(); ++i) {
    if (!started[i]) {
      ++outcome.skipped;
    } else if (results[i].ok()) {
      ++outcome.made;
    } else {
      spdlog::warn("copy of {} to {} failed: {}", copies[i].key, copies[i].destination,
                   results[i].message());
      outcome.failed.push_back({copies[i], results[i]});
    }
  }
  return outcome;
}

// Deletions are grouped by (node, video id) and each group runs in order:
// parallel deletes in one video folder of one node race with the node
// removing the folder once it is empty (a delete then fails to sync the
// folder that vanished, and the node keeps listing the key). The group is the
// video id (the key's first part), not its folder, so that the generations of
// a video, which share the <video_id> folder the node removes last, are
// deleted in order too. Groups run in parallel.
DeleteResults ExecuteDeletions(NodePool& pool, const std::vector<DeleteTask>& deletions,
                               size_t parallelism, const std::set<std::string>& keep,
                               ProgressReporter& progress) {
  progress.Phase("cleaning up", deletions.size());
  std::map<std::pair<std::string, std::string>, std::vector<const DeleteTask*>> groups;
  for (const DeleteTask& task : deletions) {
    std::string video_id = task.key.substr(0, task.key.find('/'));
    groups[{task.node, video_id}].push_back(&task);
  }
  std::vector<const std::vector<const DeleteTask*>*> batches;
  for (const auto& [group, tasks] : groups) batches.push_back(&tasks);
  std::atomic<uint64_t> deleted{0};
  std::atomic<uint64_t> failed{0};
  ParallelFor(batches.size(), parallelism, [&](size_t i) {
    for (const DeleteTask* task : *batches[i]) {
      if (!keep.contains(task->key)) {
        absl::Status result = pool.Client(task->node).Delete(task->key).status();
        pool.Report(task->node, result);
        if (result.ok()) {
          ++deleted;
        } else {
          ++failed;
          spdlog::warn("cannot delete the copy of {} on {} (Repair will retry): {}", task->key,
                       task->node, result.message());
        }
      }
      progress.Step(task->key);
    }
  });
  return DeleteResults{deleted.load(), failed.load()};
}

ChangeCopies CopyForChange(NodePool& pool, const HashRing& old_ring, const HashRing& new_ring,
                           const NodeWalk& walk, size_t parallelism, ProgressReporter& progress,
                           const std::atomic<bool>* stop, const std::function<bool()>& stopped) {
  ChangeCopies outcome;
  HoldingsScanner scanner(pool, walk.nodes, walk.page_size);
  for (StoredKeys batch = scanner.Next(); !batch.empty() && !stopped(); batch = scanner.Next()) {
    MigrationPlan plan = PlanMigration(old_ring, new_ring, batch);
    for (const std::string& key : plan.lost_keys) spdlog::error("{} has no copy on any node", key);
    CopyResults copies = ExecuteCopies(pool, plan.copies, parallelism, true, progress, stop);
    outcome.files_to_migrate += plan.files_to_migrate;
    outcome.made += copies.made;
    if (!copies.failed.empty()) {
      outcome.failed = std::move(copies.failed);
      break;
    }
  }
  return outcome;
}

// A copy still to make (planned with the committed ring as both rings) means
// a node of the key's replica set lacks it: its other copies are all kept.
CleanupResults CleanUpAfterChange(NodePool& pool, const HashRing& ring, const NodeWalk& walk,
                                  size_t parallelism, ProgressReporter& progress,
                                  const std::function<bool()>& stopped) {
  CleanupResults outcome;
  HoldingsScanner scanner(pool, walk.nodes, walk.page_size);
  StoredKeys batch = scanner.Next();
  for (; !batch.empty() && !stopped(); batch = scanner.Next()) {
    MigrationPlan plan = PlanMigration(ring, ring, batch);
    std::set<std::string> keep;
    for (const CopyTask& copy : plan.copies) {
      // Summed up by the caller: a node that cannot be listed would log
      // every key it owns here.
      if (keep.insert(copy.key).second) {
        spdlog::debug("{} is missing on {}: its copies outside its replica set are kept", copy.key,
                      copy.destination);
      }
    }
    for (const DeleteTask& task : plan.deletions) outcome.kept_copies += keep.contains(task.key);
    DeleteResults deleted = ExecuteDeletions(pool, plan.deletions, parallelism, keep, progress);
    outcome.keys_checked += batch.size();
    outcome.kept_keys += keep.size();
    outcome.deleted += deleted.deleted;
    outcome.failed += deleted.failed;
  }
  outcome.stopped = !batch.empty();
  outcome.unlisted_nodes = scanner.unlisted().size();
  return outcome;
}

std::string DescribeFailedCopies(const std::vector<FailedCopy>& failed) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < failed.size() && i < kFailuresInMessage; ++i) {
    parts.push_back(absl::StrCat(failed[i].task.key, " -> ", failed[i].task.destination, ": ",
                                 failed[i].status.message()));
  }
  std::string text = absl::StrJoin(parts, "; ");
  if (failed.size() > kFailuresInMessage) {
    absl::StrAppend(&text, " (and ", failed.size() - kFailuresInMessage, " more)");
  }
  return text;
}

}  // namespace dvs::content
