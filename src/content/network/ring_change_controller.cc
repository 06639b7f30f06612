#include "content/network/ring_change_controller.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "common/strings.h"
#include "content/network/migrator.h"
#include "content/network/node_pool.h"
#include "spdlog/spdlog.h"

namespace dvs::content {
namespace {

// AddNode's probe of a node that does not answer: 6 more tries, 250 ms apart.
constexpr int kAddProbeRetries = 6;
constexpr auto kAddProbePause = std::chrono::milliseconds(250);

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

absl::StatusOr<RingState> LoadStored(RingStateStore& store) {
  ASSIGN_OR_RETURN(std::optional<std::string> stored, store.Load());
  if (!stored.has_value()) return absl::DataLossError("the stored ring state has disappeared");
  return RingState::FromJson(*stored);
}

}  // namespace

absl::StatusOr<RingState> RingChangeController::LoadOrSeed(
    const std::vector<std::string>& seed_nodes, int vnodes, int replicas, RingStateStore& store) {
  ASSIGN_OR_RETURN(std::optional<std::string> stored, store.Load());
  if (!stored.has_value()) {
    ASSIGN_OR_RETURN(RingState seeded, RingState::Seed(seed_nodes, vnodes, replicas));
    RETURN_IF_ERROR(store.Store(seeded.ToJson()));
    spdlog::info("seeded the storage ring with {} nodes: {}", seeded.nodes.size(),
                 absl::StrJoin(seeded.nodes, ","));
    return seeded;
  }
  ASSIGN_OR_RETURN(RingState state, RingState::FromJson(*stored));
  std::vector<std::string> seeds = seed_nodes;
  std::sort(seeds.begin(), seeds.end());
  if (!seeds.empty() && seeds != state.nodes) {
    spdlog::info(
        "using the stored storage ring (epoch {}: {}); the nodes given at start-up only "
        "seed an empty store",
        state.epoch, absl::StrJoin(state.nodes, ","));
  }
  if (state.in_transition()) {
    spdlog::info(
        "the stored ring has a change in progress ({}); it is resumed here once no other web "
        "server runs it",
        state.DescribeChange());
  }
  return state;
}

RingChangeController::RingChangeController(RingChangeOptions options, RingStateStore& store,
                                           NodePool& pool, LivePlacement& placement)
    : options_(std::move(options)),
      store_(store),
      pool_(pool),
      placement_(placement),
      highest_version_(placement.state().version) {}

RingChangeController::~RingChangeController() {
  {
    std::lock_guard lock(stop_mutex_);
    stop_ = true;
  }
  stop_wake_.notify_all();
  if (taker_.joinable()) taker_.join();
}

void RingChangeController::Start() {
  if (options_.takeover_every.count() <= 0) return;
  taker_ = std::thread([this] { TakeOverLoop(); });
}

void RingChangeController::TakeOverLoop() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_) {
    lock.unlock();
    TakeOverIfOrphaned();
    lock.lock();
    stop_wake_.wait_for(lock, options_.takeover_every, [this] { return stop_.load(); });
  }
}

void RingChangeController::TakeOverIfOrphaned() {
  const RingState& state = placement_.state();
  if (!state.in_transition() && !state.cleanup_pending()) return;
  absl::StatusOr<std::unique_ptr<RingChangeLease>> lease = Lock("resume an unfinished change");
  if (!lease.ok()) return;  // its owner still runs it (or the lock cannot be reached)
  absl::StatusOr<RingState> settled = SettledStateUnderLock(**lease);
  if (!settled.ok() && !stop_) {
    spdlog::warn("could not finish the unfinished ring change (tried again in {} ms): {}",
                 options_.takeover_every.count(), settled.status().message());
  }
}

RingChangeStats RingChangeController::stats() const {
  return RingChangeStats{.committed = committed_.load(),
                         .aborted = aborted_.load(),
                         .cleanup_failures = cleanup_failures_.load(),
                         .resumed = resumed_.load()};
}

absl::StatusOr<uint64_t> RingChangeController::AddNode(std::string_view address,
                                                       const ClusterProgressCallback& progress) {
  RETURN_IF_ERROR(ValidateNodeAddress(address));
  const std::string node(address);
  const std::vector<std::string> members = placement_.state().nodes;
  if (std::find(members.begin(), members.end(), node) != members.end()) {
    return absl::AlreadyExistsError(absl::StrCat("storage node ", node, " is already in the ring"));
  }
  // Checked before the change starts, so a typo never begins a migration.
  RETURN_IF_ERROR(ProbeNewNode(node));
  ASSIGN_OR_RETURN(std::unique_ptr<RingChangeLease> lease, Lock(absl::StrCat("add ", node)));
  ASSIGN_OR_RETURN(RingState settled, SettledStateUnderLock(*lease));
  ASSIGN_OR_RETURN(RingState next, settled.BeginAdd(node, options_.now_ms()));
  ProgressReporter reporter(progress);
  return RunChange(next, *lease, reporter, false);
}

absl::StatusOr<uint64_t> RingChangeController::RemoveNode(std::string_view address,
                                                          const ClusterProgressCallback& progress) {
  RETURN_IF_ERROR(ValidateNodeAddress(address));
  const std::string node(address);
  ASSIGN_OR_RETURN(std::unique_ptr<RingChangeLease> lease, Lock(absl::StrCat("remove ", node)));
  ASSIGN_OR_RETURN(RingState settled, SettledStateUnderLock(*lease));
  // NotFound for a stranger, FailedPrecondition for the last node.
  ASSIGN_OR_RETURN(RingState next, settled.BeginRemove(node, options_.now_ms()));
  ProgressReporter reporter(progress);
  return RunChange(next, *lease, reporter, false);
}

// A node restarted a moment ago may find its channel still waiting out a
// reconnect backoff (at most 1 s): it gets a few tries before it is refused.
absl::Status RingChangeController::ProbeNewNode(const std::string& node) {
  absl::StatusOr<storage::NodeInfo> info = pool_.Client(node).Info();
  for (int retry = 0; retry < kAddProbeRetries && absl::IsUnavailable(info.status()); ++retry) {
    std::this_thread::sleep_for(kAddProbePause);
    info = pool_.Client(node).Info();
  }
  if (info.ok()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("storage node ", node, " does not answer: ", info.status().message()));
}

absl::StatusOr<std::unique_ptr<RingChangeLease>> RingChangeController::Lock(std::string_view what) {
  return options_.change_lock->TryAcquire(what);
}

absl::StatusOr<RingState> RingChangeController::SettledStateUnderLock(
    const RingChangeLease& lease) {
  if (options_.shared_store) RETURN_IF_ERROR(CatchUpWithStore(0).status());
  const ClusterProgressCallback no_callback;
  ProgressReporter quiet(no_callback);
  if (RingState state = placement_.state(); state.in_transition()) {
    spdlog::warn("ring change {} was left unfinished by a web server that stopped; resuming it",
                 state.DescribeChange());
    ++resumed_;
    absl::StatusOr<uint64_t> finished = RunChange(state, lease, quiet, true);
    // Aborted after a failed copy is settled too: the old ring is in force.
    if (placement_.state().in_transition()) {
      RETURN_IF_ERROR(finished.status());
      return absl::InternalError("a resumed ring change left its transition in force");
    }
  }
  if (RingState state = placement_.state(); state.cleanup_pending() && !stop_ && !lease.lost()) {
    spdlog::warn(
        "the clean-up after ring epoch {} was left unfinished by a web server that stopped; "
        "finishing it",
        state.epoch);
    CleanUp(state, lease, absl::StrCat("to epoch ", state.epoch), quiet);
  }
  return placement_.state();
}

absl::StatusOr<bool> RingChangeController::CatchUpWithStore(uint64_t version) {
  ASSIGN_OR_RETURN(RingState state, LoadStored(store_));
  RETURN_IF_ERROR(placement_.Swap(state));
  return state.version <= version;
}

absl::Status RingChangeController::AdoptState(const RingState& state) {
  const uint64_t before = placement_.state().version;
  RETURN_IF_ERROR(placement_.Swap(state));
  if (state.version > before) {
    spdlog::info(
        "storage ring now epoch {} version {}{}: {}", state.epoch, state.version,
        state.in_transition() ? absl::StrCat(" (changing: ", state.DescribeChange(), ")") : "",
        absl::StrJoin(state.nodes, ","));
  }
  return absl::OkStatus();
}

absl::Status RingChangeController::InstallState(RingState state, const RingChangeLease& lease) {
  // Above every version seen or offered here: a state that was offered and
  // maybe stored (its answer lost) is never followed by another of the same
  // version.
  uint64_t floor = std::max(highest_version_.load(), placement_.state().version);
  state.version = std::max(state.version, floor + 1);
  highest_version_ = state.version;
  RETURN_IF_ERROR(state.Validate());
  RETURN_IF_ERROR(store_.StoreFenced(state.ToJson(), lease));
  return placement_.Swap(state);
}

// The transition is stored and in force before anything is listed: from then
// on every write reaches the target set too, so the listing below misses
// nothing the target set will need (writes begun earlier are waited for).
// A resumed transition was in force since this server opened (or heard of
// it), so the same holds.
absl::StatusOr<uint64_t> RingChangeController::RunChange(const RingState& next,
                                                         const RingChangeLease& lease,
                                                         ProgressReporter& progress,
                                                         bool resuming) {
  const std::string change = next.DescribeChange();
  if (!resuming) RETURN_IF_ERROR(InstallState(next, lease));
  spdlog::info("ring change {} {} (epoch {})", change, resuming ? "resumed" : "started",
               next.epoch);
  if (!resuming && options_.test_pause_after_begin.count() > 0) {
    std::this_thread::sleep_for(options_.test_pause_after_begin);
  }
  if (resuming && next.transition->kind == TransitionKind::kAdd) {
    // As at admission: a node added that no longer answers is not committed.
    if (absl::Status probe = ProbeNewNode(next.transition->node); !probe.ok()) {
      return AbortChange(next, lease, absl::AbortedError(probe.message()));
    }
  }
  progress.Phase("planning", 0, "listing the files on every node");
  std::shared_ptr<const RingPlacement> placement = placement_.Current();
  // The removed node of a remove is walked too: it is the one to empty.
  const NodeWalk walk{.nodes = AllNodesOf(next), .page_size = options_.scan_page_size};
  const std::function<bool()> stopped = [&] { return stop_ || lease.lost(); };
  ChangeCopies copies = CopyForChange(pool_, placement->current(), placement->target(), walk,
                                      options_.copy_parallelism, progress, &stop_, stopped);
  if (stop_ || lease.lost()) {
    // Stopping, or another server may own the ring now: store nothing more.
    // The transition stays stored; whoever holds the lock next resumes it.
    return absl::AbortedError(absl::StrCat(
        "ring change ", change, " paused: ",
        stop_ ? "this server is stopping"
              : "the ring-change lock was lost (etcd unreachable for longer than its lease)",
        "; it resumes when a web server next holds the lock"));
  }
  if (!copies.failed.empty()) {
    return AbortChange(
        next, lease,
        absl::AbortedError(absl::StrCat(
            "ring change ", change, " aborted, the old ring stays in force: ", copies.failed.size(),
            " copies failed: ", DescribeFailedCopies(copies.failed))));
  }
  progress.Phase("committing", 1);
  ASSIGN_OR_RETURN(RingState committed, next.Commit());
  if (absl::Status stored = InstallState(committed, lease); !stored.ok()) {
    // Maybe stored after all (an answer lost): the transition stays in force
    // here, which reads both rings, and the change is resumed later.
    return absl::Status(stored.code(), absl::StrCat("ring change ", change,
                                                    " could not be committed (it resumes later): ",
                                                    stored.message()));
  }
  ++committed_;
  progress.Step();
  spdlog::info("ring change {} committed (epoch {}); {} files migrated with {} copies", change,
               committed.epoch, copies.files_to_migrate, copies.made);
  // Other web servers may still read by the old ring until they hear of
  // the commit.
  if (options_.cleanup_delay.count() > 0) std::this_thread::sleep_for(options_.cleanup_delay);
  CleanUp(placement_.state(), lease, change, progress);
  return copies.files_to_migrate;
}

// The committed state says which nodes to walk (cleanup_nodes: a remove's
// removed node too), and keeps saying it until the clean-up is stored as
// done: a server stopped meanwhile leaves it to whoever holds the lock next.
void RingChangeController::CleanUp(const RingState& committed, const RingChangeLease& lease,
                                   const std::string& change, ProgressReporter& progress) {
  progress.Phase("cleaning up", 0, "listing the files on every node");
  const NodeWalk walk{.nodes = committed.cleanup_nodes, .page_size = options_.scan_page_size};
  const std::function<bool()> stopped = [&] { return stop_ || lease.lost(); };
  CleanupResults cleaned = CleanUpAfterChange(pool_, placement_.Current()->current(), walk,
                                              options_.copy_parallelism, progress, stopped);
  cleanup_failures_ += cleaned.failed + cleaned.kept_copies;
  spdlog::info("ring change {} cleaned up: {} keys checked, {} old copies deleted", change,
               cleaned.keys_checked, cleaned.deleted);
  if (cleaned.failed + cleaned.kept_copies + cleaned.unlisted_nodes > 0 || cleaned.stopped) {
    spdlog::warn(
        "ring change {}: old copies are left ({} deletions failed; {} copies kept because {} keys "
        "lack a copy on their replica set; {} nodes could not be listed{}); on the ring's nodes "
        "`dvs admin repair` removes them",
        change, cleaned.failed, cleaned.kept_copies, cleaned.kept_keys, cleaned.unlisted_nodes,
        cleaned.stopped ? "; stopped before the end, to be finished later" : "");
  }
  if (cleaned.stopped) return;
  // What the walk could not do (a node down, a failed delete) is repair's.
  if (absl::Status stored = InstallState(committed.CleanedUp(), lease); !stored.ok()) {
    spdlog::warn("ring change {}: the end of its clean-up could not be stored (it runs again): {}",
                 change, stored.message());
  }
}

// When the aborted state cannot be stored, the transition stays in force
// here (its rings hold every file) and is resumed later: putting in force a
// state nobody stored could disagree with what another server stores.
absl::Status RingChangeController::AbortChange(const RingState& transition,
                                               const RingChangeLease& lease,
                                               const absl::Status& why) {
  ++aborted_;
  spdlog::error("aborting ring change {}: {}", transition.DescribeChange(), why.message());
  ASSIGN_OR_RETURN(RingState aborted, transition.Abort());
  absl::Status stored = InstallState(aborted, lease);
  if (stored.ok()) return why;
  return absl::Status(
      why.code(), absl::StrCat(why.message(),
                               " (and storing the aborted ring failed: ", stored.message(), ")"));
}

}  // namespace dvs::content
