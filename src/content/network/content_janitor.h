// ContentJanitor: keeps the storage cluster honest in the background
// (DESIGN §5 and §6) for the network content service:
//
// - Durable deletes. DeleteFolder records a tombstone (ContentRecords) before
//   deleting a video folder on every node, and drops it only once every node
//   has answered; RetryDeletes, run on a schedule and by repair, deletes the
//   folder again on the nodes that were down or failing, until all have.
// - Garbage collection. CollectGarbage lists every node's folders and
//   deletes those no record references once they have been seen
//   unreferenced for the grace period (GarbageCandidates): an upload whose
//   record is being written, or a folder of a video just re-created, is
//   never taken.
// - Damaged replicas. RepairDamaged asks every node what its scrubber found
//   damaged (the storage Info call) and queues a copy from a good replica,
//   so that no viewer has to hit the damage first.
//
// Without ContentRecords (a service used without records, as in tests),
// deletes are not recorded and no garbage is collected; damaged replicas are
// still repaired.
//
// Thread-safe: every method may be called from many threads; Start runs the
// schedule on a thread of its own, stopped by the destructor.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "content/network/content_records.h"
#include "content/network/node_pool.h"
#include "content/network/replicated_io.h"

namespace dvs::content {

// The garbage collector's decision rule: a folder is deleted only when every
// pass for at least `grace` (and at least two passes) found it unreferenced;
// one pass that finds it referenced, or does not find it, starts its clock
// again.
// Memory holds the unreferenced folders only. Not thread-safe.
class GarbageCandidates {
 public:
  explicit GarbageCandidates(int64_t grace_ms) : grace_ms_(grace_ms) {}

  // After a pass at `now_ms` that found `unreferenced` (every folder not
  // referenced by a record): the folders to delete now. Those are forgotten;
  // so are candidates this pass did not find unreferenced.
  std::vector<std::string> Update(const std::set<std::string>& unreferenced, int64_t now_ms);
  size_t size() const { return first_seen_ms_.size(); }

 private:
  const int64_t grace_ms_;
  std::map<std::string, int64_t> first_seen_ms_;
};

struct JanitorOptions {
  // Tombstone retries and the check for damaged replicas.
  std::chrono::milliseconds scan_every{std::chrono::seconds(30)};
  // Scheduled garbage collection; 0 turns it off (repair still runs it).
  std::chrono::milliseconds gc_every{std::chrono::hours(1)};
  std::chrono::milliseconds gc_grace{std::chrono::hours(24)};
  std::function<int64_t()> now_ms;  // never empty
};

// What the janitor needs of the service's ring, asked afresh at each use.
struct JanitorHooks {
  // Every node of the ring in force (and of a transition's target).
  std::function<std::vector<std::string>()> nodes;
  // The nodes that should hold `key`, in read order.
  std::function<std::vector<std::string>(const std::string& key)> holders;
  // Queues a copy of `key` from `good` over the damaged copy on `bad`.
  std::function<void(const std::string& key, const std::string& bad, const std::string& good)>
      repair;
};

// Counters since the start, for logs and /metrics.
struct JanitorStats {
  uint64_t tombstones_recorded = 0;
  uint64_t tombstones_cleared = 0;
  uint64_t tombstones_pending = 0;    // at the end of the last retry pass
  uint64_t delete_skipped_nodes = 0;  // nodes down when a folder was deleted
  uint64_t damaged_found = 0;         // damaged replicas reported by nodes
  uint64_t damaged_repairs_queued = 0;
  uint64_t gc_passes = 0;
  uint64_t gc_folders_deleted = 0;
};

struct GcReport {
  uint64_t folders_seen = 0;
  uint64_t unreferenced = 0;  // not referenced by any record
  uint64_t deleted = 0;       // unreferenced for the whole grace period
};

class ContentJanitor {
 public:
  // `pool` and `records` (which may be null) must outlive the janitor.
  ContentJanitor(NodePool& pool, ContentRecords* records, JanitorHooks hooks,
                 JanitorOptions options);
  ~ContentJanitor();
  ContentJanitor(const ContentJanitor&) = delete;
  ContentJanitor& operator=(const ContentJanitor&) = delete;

  // Runs RetryDeletes and RepairDamaged every scan_every, and
  // CollectGarbage every gc_every, on a thread of its own.
  void Start();

  // Deletes the video folder on every node (VideoContentService::Delete).
  // With records, a tombstone is stored first (an error, and nothing
  // deleted, when it cannot be) and dropped once every node has the folder
  // gone; nodes that are down are skipped here and retried later. An error
  // when a node answered with one, or when no node answers.
  [[nodiscard]] absl::Status DeleteFolder(std::string_view folder);
  // One retry of every tombstone; the count still pending.
  [[nodiscard]] absl::StatusOr<uint64_t> RetryDeletes();
  // Queues repairs of what the nodes' scrubbers found damaged; the count
  // queued. Unavailable when no node answers.
  [[nodiscard]] absl::StatusOr<uint64_t> RepairDamaged();
  // One garbage-collection pass (FailedPrecondition without records).
  [[nodiscard]] absl::StatusOr<GcReport> CollectGarbage();
  // Whether a record references the folder of `key` (always true without
  // records), for repair, which copies only what a record wants. Answers are
  // kept in `cache`, by folder, for the caller's pass.
  [[nodiscard]] absl::StatusOr<bool> KeyIsReferenced(const std::string& key,
                                                     std::map<std::string, bool>& cache);

  JanitorStats stats() const;

 private:
  // Deletes `folder` on every node; the nodes that did not, with why.
  std::vector<NodeAttempt> DeleteOnNodes(std::string_view folder, bool log_down);
  [[nodiscard]] absl::Status RetryOne(const Tombstone& tombstone, uint64_t& pending);
  void Run();
  bool SleepUntil(std::chrono::steady_clock::time_point when);

  NodePool& pool_;
  ContentRecords* const records_;
  const JanitorHooks hooks_;
  const JanitorOptions options_;

  std::atomic<uint64_t> tombstones_recorded_{0};
  std::atomic<uint64_t> tombstones_cleared_{0};
  std::atomic<uint64_t> tombstones_pending_{0};
  std::atomic<uint64_t> delete_skipped_nodes_{0};
  std::atomic<uint64_t> damaged_found_{0};
  std::atomic<uint64_t> damaged_repairs_queued_{0};
  std::atomic<uint64_t> gc_passes_{0};
  std::atomic<uint64_t> gc_folders_deleted_{0};

  std::mutex gc_mutex_;           // one pass at a time
  GarbageCandidates candidates_;  // GUARDED_BY(gc_mutex_)

  std::mutex mutex_;
  std::condition_variable stop_changed_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace dvs::content
