// NetworkContentService: the cluster content backend (DESIGN §5). Files live
// on storage nodes (`dvs storage`) placed by a consistent-hash ring with R
// replicas; the same object is the ClusterAdmin that adds and removes nodes,
// reports status and repairs.
//
// Data path:
// - A write sends the bytes to every node of the key's write set in
//   parallel, streamed, and succeeds by the quorum rule in replicated_io.h
//   (a majority of the committed replica set, and of the target set during a
//   change). Replicas that failed are logged and counted; a later read or
//   Repair() fixes them.
// - A read tries the replicas in ring order (the target set first during a
//   change), nodes that recently failed to answer last, and fails over on
//   NotFound, DataLoss or a dead node, also in mid-stream. A replica found
//   missing or damaged is re-copied from a good one in the background.
//
// Ring changes (adding and removing nodes) are run by a RingChangeController
// (ring_change_controller.h), which stores ring states and puts them in force
// here through a LivePlacement; see there for transitions, crashes and
// several web servers sharing one store (`shared_store`, etcd). Because a
// ring-change notice can arrive late, a write that finds, once done, that the
// stored ring is no longer the one it used writes again under the stored one:
// a change lists the nodes only after storing its transition, so a write it
// could have missed always sees that transition.
//
// Thread-safe: every method may be called from many threads. Ring changes
// and Repair() run one at a time (RingChangeLock); reads and writes go on
// meanwhile. Readers returned by Read() must not outlive the service.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "content/content_service.h"
#include "content/network/cluster_admin.h"
#include "content/network/content_janitor.h"
#include "content/network/content_records.h"
#include "content/network/holdings_scanner.h"
#include "content/network/live_placement.h"
#include "content/network/migration_plan.h"
#include "content/network/ring_change_controller.h"
#include "content/network/ring_change_lock.h"
#include "content/network/ring_state.h"
#include "storage/storage_client.h"

namespace dvs::content {

class NodePool;
class RepairQueue;
struct ReplicatedPutResult;

struct NetworkContentOptions {
  // From the command line; used only when the store holds no ring yet.
  std::vector<std::string> seed_nodes;
  int vnodes = kDefaultVirtualNodes;  // for seeding; a stored ring keeps its own
  int replicas = kDefaultReplicas;    // likewise
  storage::StorageClientOptions client;
  // Copies (and deletions) run at once during a ring change or repair
  // (`dvs web --copy-parallelism`).
  size_t copy_parallelism = 4;
  // Keys per listing call when a ring change or repair walks the nodes
  // (HoldingsScanner); memory grows with it, not with the key count.
  size_t scan_page_size = HoldingsScanner::kDefaultPageSize;
  // How long a node that failed to answer is tried last by reads.
  std::chrono::milliseconds down_for{std::chrono::seconds(3)};
  // Read repairs waiting at most; more are dropped (and counted).
  size_t repair_queue_limit = 1024;
  // Milliseconds since the epoch; the system clock when empty.
  std::function<int64_t()> now_ms;
  // One ring change at a time; an in-process lock when empty. Shared so that
  // several services on one cluster in one process can share one.
  std::shared_ptr<RingChangeLock> change_lock;
  // Other web servers use the same store and cluster (see the class comment);
  // change_lock must then be one they share too.
  bool shared_store = false;
  std::chrono::milliseconds cleanup_delay{0};
  // How often to look for a ring change left unfinished by a server that
  // stopped, to resume it (RingChangeController); zero: never.
  std::chrono::milliseconds takeover_every{std::chrono::seconds(2)};
  // Tests only: a pause once a new change's transition is stored, so that a
  // crash can be aimed into a running change (DVS_TEST_RING_CHANGE_PAUSE_MS).
  std::chrono::milliseconds test_pause_after_begin{0};
  // The video records, for durable deletes, garbage collection and a repair
  // that copies only what a record references (content_janitor.h); may be
  // null (then deletes are not recorded and no garbage is collected). Must
  // outlive the service.
  ContentRecords* records = nullptr;
  // Background upkeep (ContentJanitor): retried deletes, re-copies of what
  // the scrubbers found damaged, garbage collection. Its now_ms is the one
  // above. Off unless run_upkeep (tests drive it through upkeep()).
  JanitorOptions upkeep;
  bool run_upkeep = false;
};

// Counters since Open, for logs and /metrics.
struct NetworkContentStats {
  uint64_t write_replica_failures = 0;  // replicas a successful write missed
  uint64_t read_repairs = 0;            // replicas re-copied after a read found them bad
  uint64_t read_repairs_failed = 0;
  uint64_t read_repairs_dropped = 0;    // repair queue full
  uint64_t delete_skipped_nodes = 0;    // nodes down during a folder's delete (retried later)
  uint64_t deletes_pending = 0;         // tombstones not yet dropped, at the last retry pass
  uint64_t damaged_replicas_found = 0;  // reported by the storage nodes' scrubbers
  uint64_t gc_folders_deleted = 0;      // unreferenced folders garbage-collected
  uint64_t cleanup_failures = 0;        // old copies not deleted after a ring change
  uint64_t ring_changes_committed = 0;
  uint64_t ring_changes_aborted = 0;
};

class NetworkContentService final : public VideoContentService, public ClusterAdmin {
 public:
  // Loads the ring state from `store`, or seeds it from options.seed_nodes
  // and stores it when nothing is stored (RingChangeController::LoadOrSeed).
  // A stored transition (a crash in mid-change) stays in force and is
  // resumed in the background once the change lock is free. Does not contact
  // the nodes: a cluster that is down still opens (CheckHealth says so).
  // `store` must outlive the service.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<NetworkContentService>> Open(
      NetworkContentOptions options, RingStateStore& store);
  ~NetworkContentService() override;

  // VideoContentService.
  absl::Status Write(std::string_view video_id, std::string_view filename,
                     std::string_view bytes) override;
  absl::Status WriteFile(std::string_view video_id, std::string_view filename,
                         const std::filesystem::path& source) override;
  // A copy whose SHA-256 differs from `expected_sha256` (a replica that
  // missed an overwrite while its node was down, or bytes someone replaced)
  // is passed over and repaired from one that has it; when no copy has it,
  // DataLoss (NotFound when a majority has no copy at all): other bytes are
  // never served.
  absl::StatusOr<std::unique_ptr<ContentReader>> Read(
      std::string_view video_id, std::string_view filename,
      std::optional<ByteRange> range = std::nullopt,
      std::string_view expected_sha256 = {}) override;
  absl::StatusOr<ContentInfo> Stat(std::string_view video_id, std::string_view filename,
                                   std::string_view expected_sha256 = {}) override;
  // The union over all nodes of the file names directly in the video folder;
  // Unavailable when so many nodes are silent (a majority of R or more) that
  // a file could be missed.
  absl::StatusOr<std::vector<std::string>> List(std::string_view video_id) override;
  // Deletes the video folder's files on every node (not those of the video's
  // other folders); nodes that are down are skipped and counted, and, with
  // options.records, the delete is recorded and retried until they have
  // dropped the folder too (ContentJanitor::DeleteFolder).
  absl::Status Delete(std::string_view video_id) override;
  // OK when a majority of the ring's nodes answer.
  absl::Status CheckHealth() override;

  // ClusterAdmin. `progress` may be empty; it is called from copy worker
  // threads, one call at a time, so it should return quickly. AddNode and
  // RemoveNode return Aborted when a copy fails (the old ring stays in
  // force). Repair returns Unavailable, naming what is left, when a node
  // cannot be listed or a copy or deletion fails; run it again later.
  absl::StatusOr<std::vector<std::string>> ListNodes() override;
  absl::StatusOr<uint64_t> AddNode(std::string_view address,
                                   const ClusterProgressCallback& progress) override;
  absl::StatusOr<uint64_t> RemoveNode(std::string_view address,
                                      const ClusterProgressCallback& progress) override;
  absl::StatusOr<ClusterStatus> Status() override;
  absl::StatusOr<RepairReport> Repair(const ClusterProgressCallback& progress) override;

  // A state another web server stored (heard through a watch on the store):
  // put in force when its version is newer than the one in force, else
  // ignored. InvalidArgument for a state that fails Validate().
  absl::Status AdoptState(const RingState& state);

  // The ring state in force (with any transition running).
  RingState ring_state() const;
  NetworkContentStats stats() const;
  // Blocks until the read repairs queued so far are done (tests, shutdown).
  void WaitForRepairs();
  // Deletes, garbage collection and damaged replicas (see ContentJanitor).
  ContentJanitor& upkeep() { return *janitor_; }

 private:
  NetworkContentService(NetworkContentOptions options, RingStateStore& store,
                        RingPlacement placement);

  // Data path (network_content_service.cc).
  [[nodiscard]] absl::Status PutReplicated(
      const std::string& key, uint64_t size, const std::string& sha256,
      const std::function<absl::StatusOr<storage::PutSource>()>& make_source);
  [[nodiscard]] absl::StatusOr<ContentInfo> StatKey(const std::string& key,
                                                    const std::vector<std::string>& nodes,
                                                    std::string_view expected_sha256 = {});
  void OnBadReplica(const std::string& key, const std::string& bad_node,
                    const std::string& good_node);
  bool StillWanted(const std::string& key, const std::string& node) const;

  // Status and repair (network_cluster_admin.cc).
  NodeStatus ProbeNode(const std::string& address);
  // Removes the keys no record references (repair never copies them; garbage
  // collection takes them after its grace period); the count removed.
  [[nodiscard]] absl::StatusOr<uint64_t> DropUnreferencedKeys(StoredKeys& stored);

  const NetworkContentOptions options_;
  const std::unique_ptr<NodePool> pool_;
  LivePlacement placement_;
  RingChangeController ring_;

  std::atomic<uint64_t> write_replica_failures_{0};

  // Last: its worker thread calls back into the members above.
  std::unique_ptr<RepairQueue> repairs_;
  // After the repair queue, which its thread feeds.
  std::unique_ptr<ContentJanitor> janitor_;
};

}  // namespace dvs::content
