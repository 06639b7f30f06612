// NetworkContentService's ClusterAdmin half: ring changes with migration,
// status and repair. See network_content_service.h for the rules.
#include <algorithm>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"
#include "content/network/migrator.h"
#include "content/network/network_content_service.h"
#include "content/network/node_pool.h"
#include "spdlog/spdlog.h"

namespace dvs::content {

// AddNode's probe of a node that does not answer: 6 more tries, 250 ms apart.
constexpr int kAddProbeRetries = 6;
constexpr auto kAddProbePause = std::chrono::milliseconds(250);
namespace {

// "host:port" with a port in 1..65535 and a host without spaces or slashes
// (a bracketed IPv6 literal is fine: the last ':' separates the port).
absl::Status ValidateNodeAddress(std::string_view address) {
  size_t colon = address.rfind(':');
  std::string_view host = address.substr(0, colon == std::string_view::npos ? 0 : colon);
  std::string_view port =
      colon == std::string_view::npos ? std::string_view() : address.substr(colon + 1);
  int port_number = 0;
  bool host_ok = !host.empty() && std::none_of(host.begin(), host.end(), [](char c) {
    return absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '/' || c == '\0';
  });
  bool port_ok =
      !port.empty() && port.size() <= 5 &&
      std::all_of(port.begin(), port.end(),
                  [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) &&
      absl::SimpleAtoi(common::AsAbsl(port), &port_number) && port_number >= 1 &&
      port_number <= 65535;
  if (host_ok && port_ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("storage node address \"", common::AsAbsl(address), "\" is not host:port"));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> NetworkContentService::ListNodes() {
  return ring_state().nodes;
}

absl::StatusOr<uint64_t> NetworkContentService::AddNode(std::string_view address,
                                                        const ClusterProgressCallback& progress) {
  RETURN_IF_ERROR(ValidateNodeAddress(address));
  const std::string node(address);
  const std::vector<std::string> members = ring_state().nodes;
  if (std::find(members.begin(), members.end(), node) != members.end()) {
    return absl::AlreadyExistsError(absl::StrCat("storage node ", node, " is already in the ring"));
  }
  // Checked before the change starts, so a typo never begins a migration.
  // A node restarted a moment ago may find its channel still waiting out a
  // reconnect backoff (at most 1 s): it gets a few tries before it is refused.
  absl::StatusOr<storage::NodeInfo> info = pool_->Client(node).Info();
  for (int retry = 0; retry < kAddProbeRetries && absl::IsUnavailable(info.status()); ++retry) {
    std::this_thread::sleep_for(kAddProbePause);
    info = pool_->Client(node).Info();
  }
  if (!info.ok()) {
    return absl::UnavailableError(
        absl::StrCat("storage node ", node, " does not answer: ", info.status().message()));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<RingChangeLease> lease,
                   options_.change_lock->TryAcquire(absl::StrCat("add ", node)));
  ASSIGN_OR_RETURN(RingState settled, SettledStateUnderLock());
  ASSIGN_OR_RETURN(RingState next, settled.BeginAdd(node, options_.now_ms()));
  ProgressReporter reporter(progress);
  return RunChange(next, *lease, reporter);
}

absl::StatusOr<uint64_t> NetworkContentService::RemoveNode(
    std::string_view address, const ClusterProgressCallback& progress) {
  RETURN_IF_ERROR(ValidateNodeAddress(address));
  const std::string node(address);
  ASSIGN_OR_RETURN(std::unique_ptr<RingChangeLease> lease,
                   options_.change_lock->TryAcquire(absl::StrCat("remove ", node)));
  ASSIGN_OR_RETURN(RingState settled, SettledStateUnderLock());
  // NotFound for a stranger, FailedPrecondition for the last node.
  ASSIGN_OR_RETURN(RingState next, settled.BeginRemove(node, options_.now_ms()));
  ProgressReporter reporter(progress);
  return RunChange(next, *lease, reporter);
}

absl::StatusOr<RingState> NetworkContentService::SettledStateUnderLock() {
  if (options_.shared_store) RETURN_IF_ERROR(CatchUpWithStore(0).status());
  RingState state = ring_state();
  if (!state.in_transition()) return state;
  spdlog::warn("ring change {} was left unfinished by a web server that stopped; aborting it",
               state.DescribeChange());
  ++ring_changes_aborted_;
  ASSIGN_OR_RETURN(RingState aborted, state.Abort());
  RETURN_IF_ERROR(InstallState(aborted));
  return aborted;
}

absl::Status NetworkContentService::SwapPlacement(const RingState& state) {
  // The common case (a write checking the store) costs no ring building.
  if (CurrentPlacement()->placement.state().version >= state.version) return absl::OkStatus();
  ASSIGN_OR_RETURN(RingPlacement placement, RingPlacement::Create(state));
  auto slot = std::make_shared<PlacementSlot>(std::move(placement));
  std::unique_lock lock(placement_mutex_);
  if (placement_->placement.state().version >= state.version) return absl::OkStatus();
  std::shared_ptr<PlacementSlot> old = std::exchange(placement_, std::move(slot));
  // Writes have deadlines, so this ends.
  writes_drained_.wait(lock, [&old] { return old->writes_in_flight == 0; });
  return absl::OkStatus();
}

absl::Status NetworkContentService::InstallState(const RingState& state) {
  RETURN_IF_ERROR(state.Validate());
  RETURN_IF_ERROR(store_.Store(state.ToJson()));
  return SwapPlacement(state);
}

// The transition is stored and in force before anything is listed: from then
// on every write reaches the target set too, so the listing below misses
// nothing the target set will need (writes begun earlier are waited for).
absl::StatusOr<uint64_t> NetworkContentService::RunChange(const RingState& next,
                                                          const RingChangeLease& lease,
                                                          ProgressReporter& progress) {
  const std::string change = next.DescribeChange();
  spdlog::info("ring change {} started (epoch {})", change, next.epoch);
  RETURN_IF_ERROR(InstallState(next));
  progress.Phase("planning", 0, "listing the files on every node");
  std::shared_ptr<const PlacementSlot> slot = CurrentPlacement();
  NodeHoldings holdings = GatherHoldings(*pool_, AllNodesOf(next));
  MigrationPlan plan =
      PlanMigration(slot->placement.current(), slot->placement.target(), holdings.stored);
  for (const std::string& key : plan.lost_keys) spdlog::error("{} has no copy on any node", key);
  CopyResults copies =
      ExecuteCopies(*pool_, plan.copies, options_.copy_parallelism, true, progress);
  if (!copies.failed.empty()) {
    return AbortChange(next, absl::AbortedError(absl::StrCat(
                                 "ring change ", change,
                                 " aborted, the old ring stays in force: ", copies.failed.size(),
                                 " copies failed: ", DescribeFailedCopies(copies.failed))));
  }
  if (lease.lost()) {
    // Another server may own the ring now: store nothing more. Whoever takes
    // the lock next aborts this transition.
    ++ring_changes_aborted_;
    return absl::AbortedError(absl::StrCat("ring change ", change,
                                           " stopped: the ring-change lock was lost (etcd "
                                           "unreachable for longer than its lease)"));
  }
  progress.Phase("committing", 1);
  ASSIGN_OR_RETURN(RingState committed, next.Commit());
  if (absl::Status stored = InstallState(committed); !stored.ok()) {
    return AbortChange(next, stored);
  }
  ++ring_changes_committed_;
  progress.Step();
  spdlog::info("ring change {} committed (epoch {}); {} files migrated with {} copies", change,
               committed.epoch, plan.files_to_migrate, copies.made);
  // Other web servers may still read by the old ring until they hear of
  // the commit.
  if (options_.cleanup_delay.count() > 0) std::this_thread::sleep_for(options_.cleanup_delay);
  DeleteResults deleted =
      ExecuteDeletions(*pool_, plan.deletions, options_.copy_parallelism, {}, progress);
  cleanup_failures_ += deleted.failed;
  return plan.files_to_migrate;
}

// The old ring goes back in force even when the aborted state cannot be
// stored: its nodes hold every file, and Open aborts the stored transition.
absl::Status NetworkContentService::AbortChange(const RingState& transition,
                                                const absl::Status& why) {
  ++ring_changes_aborted_;
  spdlog::error("aborting ring change {}: {}", transition.DescribeChange(), why.message());
  ASSIGN_OR_RETURN(RingState aborted, transition.Abort());
  absl::Status stored = store_.Store(aborted.ToJson());
  RETURN_IF_ERROR(SwapPlacement(aborted));
  if (stored.ok()) return why;
  return absl::Status(why.code(), absl::StrCat(why.message(),
                                               " (and storing the aborted ring "
                                               "failed: ",
                                               stored.message(), ")"));
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
  ASSIGN_OR_RETURN(std::unique_ptr<RingChangeLease> lease,
                   options_.change_lock->TryAcquire("repair"));
  RETURN_IF_ERROR(SettledStateUnderLock().status());
  ProgressReporter reporter(progress);
  reporter.Phase("planning", 0, "listing the files on every node");
  std::shared_ptr<const PlacementSlot> slot = CurrentPlacement();
  const HashRing& ring = slot->placement.current();
  NodeHoldings holdings = GatherHoldings(*pool_, ring.nodes());
  MigrationPlan plan = PlanMigration(ring, ring, holdings.stored);
  CopyResults copies =
      ExecuteCopies(*pool_, plan.copies, options_.copy_parallelism, false, reporter);
  std::set<std::string> keep;
  for (const FailedCopy& failed : copies.failed) keep.insert(failed.task.key);
  DeleteResults deleted =
      ExecuteDeletions(*pool_, plan.deletions, options_.copy_parallelism, keep, reporter);
  RepairReport report{.keys_checked = holdings.stored.size(),
                      .copies_made = copies.made,
                      .copies_deleted = deleted.deleted,
                      .lost_keys = plan.lost_keys};
  spdlog::info("repair: {} keys checked, {} copies made, {} stray copies deleted",
               report.keys_checked, report.copies_made, report.copies_deleted);
  if (copies.failed.empty() && holdings.unlisted.empty() && deleted.failed == 0) return report;
  return absl::UnavailableError(absl::StrCat(
      "repair incomplete (", report.copies_made, " copies made, ", report.copies_deleted,
      " deleted): ", holdings.unlisted.size(), " nodes could not be listed, ", copies.failed.size(),
      " copies and ", deleted.failed, " deletions failed", copies.failed.empty() ? "" : ": ",
      DescribeFailedCopies(copies.failed)));
}

}  // namespace dvs::content
