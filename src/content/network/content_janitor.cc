#include "content/network/content_janitor.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids.h"
#include "common/status.h"
#include "common/strings.h"
#include "content/network/replicated_io.h"
#include "spdlog/spdlog.h"

namespace dvs::content {
namespace {

// A tombstone whose folder a record references again (a failed video's
// folder, deleted and then retried under the same generation) is dropped
// without deleting — but only once it is this old, so that the usual delete
// (content first, then the record) is not mistaken for a reuse.
constexpr int64_t kReferencedTombstoneHoldMs = 10 * 60 * 1000;

std::string_view FolderOf(std::string_view key) { return key.substr(0, key.rfind('/')); }

}  // namespace

std::vector<std::string> GarbageCandidates::Update(const std::set<std::string>& unreferenced,
                                                   int64_t now_ms) {
  std::map<std::string, int64_t> next;
  std::vector<std::string> due;
  for (const std::string& folder : unreferenced) {
    auto seen = first_seen_ms_.find(folder);
    int64_t first = seen == first_seen_ms_.end() ? now_ms : seen->second;
    if (now_ms - first >= grace_ms_ && seen != first_seen_ms_.end()) {
      due.push_back(folder);
    } else {
      next.emplace(folder, first);
    }
  }
  first_seen_ms_ = std::move(next);
  return due;
}

ContentJanitor::ContentJanitor(NodePool& pool, ContentRecords* records, JanitorHooks hooks,
                               JanitorOptions options)
    : pool_(pool),
      records_(records),
      hooks_(std::move(hooks)),
      options_(std::move(options)),
      candidates_(options_.gc_grace.count()) {}

ContentJanitor::~ContentJanitor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ContentJanitor::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
}

JanitorStats ContentJanitor::stats() const {
  return JanitorStats{
      .tombstones_recorded = tombstones_recorded_.load(),
      .tombstones_cleared = tombstones_cleared_.load(),
      .tombstones_pending = tombstones_pending_.load(),
      .delete_skipped_nodes = delete_skipped_nodes_.load(),
      .damaged_found = damaged_found_.load(),
      .damaged_repairs_queued = damaged_repairs_queued_.load(),
      .gc_passes = gc_passes_.load(),
      .gc_folders_deleted = gc_folders_deleted_.load(),
  };
}

// ---- Deletes ----

std::vector<NodeAttempt> ContentJanitor::DeleteOnNodes(std::string_view folder, bool log_down) {
  const std::vector<std::string> nodes = hooks_.nodes();
  std::vector<absl::Status> results(nodes.size());
  ParallelFor(nodes.size(), nodes.size(), [&](size_t i) {
    results[i] = pool_.Client(nodes[i]).DeleteVideo(folder).status();
    pool_.Report(nodes[i], results[i]);
  });
  std::vector<NodeAttempt> left;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (results[i].ok()) continue;
    left.push_back({nodes[i], results[i]});
    if (log_down && IsNodeDownError(results[i])) ++delete_skipped_nodes_;
    if (log_down || !IsNodeDownError(results[i])) {
      spdlog::warn("video folder {} not deleted from {} yet ({}): {}", folder, nodes[i],
                   records_ != nullptr ? "its tombstone keeps it for a retry"
                                       : "its copies there stay until removed by hand",
                   results[i].message());
    }
  }
  return left;
}

absl::Status ContentJanitor::DeleteFolder(std::string_view folder) {
  RETURN_IF_ERROR(common::ValidateFolder(folder));
  if (records_ != nullptr) {
    RETURN_IF_ERROR(records_->AddTombstone(Tombstone{std::string(folder), options_.now_ms()}));
    ++tombstones_recorded_;
  }
  const size_t node_count = hooks_.nodes().size();
  std::vector<NodeAttempt> left = DeleteOnNodes(folder, /*log_down=*/true);
  if (left.empty()) {
    if (records_ == nullptr) return absl::OkStatus();
    if (absl::Status removed = records_->RemoveTombstone(folder); !removed.ok()) {
      spdlog::warn("cannot drop the tombstone of {} (a retry will): {}", folder, removed.message());
    } else {
      ++tombstones_cleared_;
    }
    return absl::OkStatus();
  }
  auto failed = std::find_if(left.begin(), left.end(), [](const NodeAttempt& attempt) {
    return !IsNodeDownError(attempt.status);
  });
  if (failed != left.end()) {
    return absl::Status(failed->status.code(),
                        absl::StrCat("cannot delete video folder ", common::AsAbsl(folder), ": ",
                                     DescribeAttempts(left)));
  }
  if (left.size() == node_count) {
    return absl::UnavailableError(absl::StrCat(
        "cannot delete video folder ", common::AsAbsl(folder), ": no storage node answers"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ContentJanitor::RetryDeletes() {
  if (records_ == nullptr) return 0;
  uint64_t pending = 0;
  RETURN_IF_ERROR(records_->ForEachTombstone(
      [&](const Tombstone& tombstone) { return RetryOne(tombstone, pending); }));
  tombstones_pending_ = pending;
  return pending;
}

absl::Status ContentJanitor::RetryOne(const Tombstone& tombstone, uint64_t& pending) {
  absl::StatusOr<bool> referenced = records_->IsReferenced(tombstone.folder);
  if (!referenced.ok()) return referenced.status();  // records away: try the whole pass later
  if (*referenced) {
    if (options_.now_ms() - tombstone.deleted_at_ms < kReferencedTombstoneHoldMs) {
      ++pending;
      return absl::OkStatus();
    }
    spdlog::info("video folder {} is in use again; dropping its tombstone", tombstone.folder);
  } else if (!DeleteOnNodes(tombstone.folder, /*log_down=*/false).empty()) {
    ++pending;
    return absl::OkStatus();
  } else {
    spdlog::info("video folder {} is now gone from every storage node", tombstone.folder);
  }
  RETURN_IF_ERROR(records_->RemoveTombstone(tombstone.folder));
  ++tombstones_cleared_;
  return absl::OkStatus();
}

// ---- Damaged replicas ----

absl::StatusOr<uint64_t> ContentJanitor::RepairDamaged() {
  const std::vector<std::string> nodes = hooks_.nodes();
  std::vector<absl::StatusOr<storage::NodeInfo>> infos(nodes.size());
  ParallelFor(nodes.size(), nodes.size(), [&](size_t i) {
    infos[i] = pool_.Client(nodes[i]).Info();
    pool_.Report(nodes[i], infos[i].status());
  });
  std::set<std::pair<std::string, std::string>> damaged;  // (key, node)
  size_t answered = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!infos[i].ok()) continue;
    ++answered;
    for (const std::string& key : infos[i]->corrupt_keys) damaged.emplace(key, nodes[i]);
  }
  if (answered == 0 && !nodes.empty()) {
    return absl::UnavailableError("no storage node answers Info");
  }
  uint64_t queued = 0;
  for (const auto& [key, bad] : damaged) {
    ++damaged_found_;
    std::vector<std::string> holders = pool_.UpFirst(hooks_.holders(key));
    auto good = std::find_if(holders.begin(), holders.end(), [&](const std::string& node) {
      return node != bad && !damaged.contains({key, node});
    });
    if (good == holders.end()) {
      spdlog::error("the copy of {} on {} is damaged and no other replica is known good", key, bad);
      continue;
    }
    spdlog::warn("the scrubber of {} found its copy of {} damaged; re-copying it from {}", bad, key,
                 *good);
    hooks_.repair(key, bad, *good);
    ++queued;
  }
  damaged_repairs_queued_ += queued;
  return queued;
}

// ---- Garbage collection ----

absl::StatusOr<GcReport> ContentJanitor::CollectGarbage() {
  if (records_ == nullptr) {
    return absl::FailedPreconditionError("garbage collection needs the video records");
  }
  std::lock_guard gc_lock(gc_mutex_);
  std::set<std::string> folders;
  for (const std::string& node : hooks_.nodes()) {
    absl::Status listed = pool_.Client(node).ListEach("", [&](const storage::BlobInfo& blob) {
      folders.emplace(FolderOf(blob.key));
      return absl::OkStatus();
    });
    pool_.Report(node, listed);
    if (!listed.ok()) spdlog::warn("garbage collection cannot list {}: {}", node, listed.message());
  }
  GcReport report{.folders_seen = folders.size()};
  std::set<std::string> unreferenced;
  for (const std::string& folder : folders) {
    absl::StatusOr<bool> referenced = records_->IsReferenced(folder);
    if (!referenced.ok()) return referenced.status();  // never guess: keep everything
    if (!*referenced) unreferenced.insert(folder);
  }
  report.unreferenced = unreferenced.size();
  for (const std::string& folder : candidates_.Update(unreferenced, options_.now_ms())) {
    spdlog::info("garbage collection: no record references video folder {}; deleting it", folder);
    if (absl::Status deleted = DeleteFolder(folder); !deleted.ok()) {
      spdlog::warn("garbage collection cannot delete {}: {}", folder, deleted.message());
      continue;
    }
    ++report.deleted;
    ++gc_folders_deleted_;
  }
  ++gc_passes_;
  return report;
}

absl::StatusOr<bool> ContentJanitor::KeyIsReferenced(const std::string& key,
                                                     std::map<std::string, bool>& cache) {
  if (records_ == nullptr) return true;
  std::string folder(FolderOf(key));
  if (auto known = cache.find(folder); known != cache.end()) return known->second;
  ASSIGN_OR_RETURN(bool referenced, records_->IsReferenced(folder));
  cache.emplace(std::move(folder), referenced);
  return referenced;
}

// ---- Schedule ----

bool ContentJanitor::SleepUntil(std::chrono::steady_clock::time_point when) {
  std::unique_lock lock(mutex_);
  stop_changed_.wait_until(lock, when, [this] { return stopping_; });
  return !stopping_;
}

void ContentJanitor::Run() {
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_gc = Clock::now() + options_.gc_every;
  while (SleepUntil(Clock::now() + options_.scan_every)) {
    if (absl::StatusOr<uint64_t> pending = RetryDeletes(); !pending.ok()) {
      spdlog::warn("cannot retry pending deletes: {}", pending.status().message());
    }
    if (absl::StatusOr<uint64_t> queued = RepairDamaged(); !queued.ok()) {
      spdlog::warn("cannot check the storage nodes for damage: {}", queued.status().message());
    }
    if (records_ == nullptr || options_.gc_every.count() <= 0 || Clock::now() < next_gc) continue;
    next_gc = Clock::now() + options_.gc_every;
    absl::StatusOr<GcReport> gc = CollectGarbage();
    if (!gc.ok()) {
      spdlog::warn("garbage collection: {}", gc.status().message());
    } else if (gc->unreferenced > 0) {
      spdlog::info("garbage collection: {} folders, {} unreferenced, {} deleted", gc->folders_seen,
                   gc->unreferenced, gc->deleted);
    }
  }
}

}  // namespace dvs::content
