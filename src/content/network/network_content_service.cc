#include "content/network/network_content_service.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/strings.h"
#include "content/network/node_pool.h"
#include "content/network/repair_queue.h"
#include "content/network/replicated_io.h"
#include "spdlog/spdlog.h"
#include "storage/blob.h"

namespace dvs::content {
namespace {

namespace fs = std::filesystem;

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `folder` is a video folder, "clip" or "clip/<generation>".
absl::StatusOr<std::string> KeyFor(std::string_view folder, std::string_view filename) {
  RETURN_IF_ERROR(common::ValidateFolder(folder));
  RETURN_IF_ERROR(common::ValidateName(filename, "file name"));
  return PlacementKey(folder, filename);
}

// Hands out `bytes` from the start; each replica's put gets its own.
storage::PutSource MemorySource(std::string_view bytes) {
  return [bytes](char* buffer, size_t max) mutable -> absl::StatusOr<size_t> {
    size_t take = std::min(max, bytes.size());
    std::memcpy(buffer, bytes.data(), take);
    bytes.remove_prefix(take);
    return take;
  };
}

absl::StatusOr<storage::PutSource> FileSource(const fs::path& path) {
  std::shared_ptr<FILE> file(std::fopen(path.c_str(), "rb"), [](FILE* f) {
    if (f != nullptr) std::fclose(f);
  });
  if (file == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot open ", path.string(), ": ", std::strerror(errno)));
  }
  return [file, path](char* buffer, size_t max) -> absl::StatusOr<size_t> {
    size_t got = std::fread(buffer, 1, max, file.get());
    if (got == 0 && std::ferror(file.get())) {
      return absl::InternalError(absl::StrCat("cannot read ", path.string()));
    }
    return got;
  };
}

// A zero-length range: nothing to stream, but the file must exist.
class EmptyReader final : public ContentReader {
 public:
  uint64_t size() const override { return 0; }
  absl::StatusOr<size_t> Read(char*, size_t) override { return 0; }
};

}  // namespace

absl::StatusOr<std::unique_ptr<NetworkContentService>> NetworkContentService::Open(
    NetworkContentOptions options, RingStateStore& store) {
  if (options.copy_parallelism < 1) {
    return absl::InvalidArgumentError("copy parallelism must be at least 1");
  }
  if (options.scan_page_size < 1) {
    return absl::InvalidArgumentError("the scan page size must be at least 1");
  }
  if (!options.now_ms) options.now_ms = SystemNowMs;
  if (!options.change_lock) options.change_lock = std::make_shared<InProcessRingChangeLock>();
  ASSIGN_OR_RETURN(RingState state,
                   RingChangeController::LoadOrSeed(options.seed_nodes, options.vnodes,
                                                    options.replicas, store));
  ASSIGN_OR_RETURN(RingPlacement placement, RingPlacement::Create(std::move(state)));
  std::unique_ptr<NetworkContentService> service(
      new NetworkContentService(std::move(options), store, std::move(placement)));
  service->ring_.Start();  // resumes a change left unfinished by a crash
  return service;
}

NetworkContentService::NetworkContentService(NetworkContentOptions options, RingStateStore& store,
                                             RingPlacement placement)
    : options_(std::move(options)),
      pool_(std::make_unique<NodePool>(options_.client, options_.now_ms, options_.down_for)),
      placement_(std::move(placement)),
      ring_(RingChangeOptions{.change_lock = options_.change_lock,
                              .copy_parallelism = options_.copy_parallelism,
                              .scan_page_size = options_.scan_page_size,
                              .now_ms = options_.now_ms,
                              .shared_store = options_.shared_store,
                              .cleanup_delay = options_.cleanup_delay,
                              .takeover_every = options_.takeover_every,
                              .test_pause_after_begin = options_.test_pause_after_begin},
            store, *pool_, placement_),
      repairs_(std::make_unique<RepairQueue>(
          *pool_,
          [this](const std::string& key, const std::string& node) {
            return StillWanted(key, node);
          },
          options_.repair_queue_limit)) {
  JanitorOptions upkeep = options_.upkeep;
  upkeep.now_ms = options_.now_ms;
  janitor_ = std::make_unique<ContentJanitor>(
      *pool_, options_.records,
      JanitorHooks{
          .nodes = [this] { return AllNodesOf(placement_.state()); },
          .holders =
              [this](const std::string& key) { return placement_.Current()->ReadOrderFor(key); },
          .repair = [this](const std::string& key, const std::string& bad,
                           const std::string& good) { OnBadReplica(key, bad, good); },
      },
      std::move(upkeep));
  if (options_.run_upkeep) janitor_->Start();
}

NetworkContentService::~NetworkContentService() = default;

RingState NetworkContentService::ring_state() const { return placement_.state(); }

NetworkContentStats NetworkContentService::stats() const {
  RepairQueueStats repairs = repairs_->stats();
  RingChangeStats changes = ring_.stats();
  JanitorStats upkeep = janitor_->stats();
  return NetworkContentStats{
      .write_replica_failures = write_replica_failures_.load(),
      .read_repairs = repairs.repaired,
      .read_repairs_failed = repairs.failed,
      .read_repairs_dropped = repairs.dropped,
      .delete_skipped_nodes = upkeep.delete_skipped_nodes,
      .deletes_pending = upkeep.tombstones_pending,
      .damaged_replicas_found = upkeep.damaged_found,
      .gc_folders_deleted = upkeep.gc_folders_deleted,
      .cleanup_failures = changes.cleanup_failures,
      .ring_changes_committed = changes.committed,
      .ring_changes_aborted = changes.aborted,
  };
}

void NetworkContentService::WaitForRepairs() { repairs_->WaitIdle(); }

// ---- Writes ----

absl::Status NetworkContentService::Write(std::string_view video_id, std::string_view filename,
                                          std::string_view bytes) {
  ASSIGN_OR_RETURN(std::string key, KeyFor(video_id, filename));
  return PutReplicated(
      key, bytes.size(), common::Sha256Hex(bytes),
      [bytes]() -> absl::StatusOr<storage::PutSource> { return MemorySource(bytes); });
}

absl::Status NetworkContentService::WriteFile(std::string_view video_id, std::string_view filename,
                                              const fs::path& source) {
  ASSIGN_OR_RETURN(std::string key, KeyFor(video_id, filename));
  std::error_code error;
  if (!fs::is_regular_file(source, error)) {
    return absl::NotFoundError(absl::StrCat(source.string(), " is not a readable file"));
  }
  uint64_t size = fs::file_size(source, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot size ", source.string(), ": ", error.message()));
  }
  // Hashed once here rather than by each replica's put.
  ASSIGN_OR_RETURN(std::string sha256, common::Sha256OfFile(source));
  return PutReplicated(key, size, sha256, [&source] { return FileSource(source); });
}

// With a shared store, a write is done only once the ring it used is still
// the stored one (see the class comment); each round adopts the newer ring.
absl::Status NetworkContentService::PutReplicated(
    const std::string& key, uint64_t size, const std::string& sha256,
    const std::function<absl::StatusOr<storage::PutSource>()>& make_source) {
  constexpr int kMaxRounds = 3;
  for (int round = 1;; ++round) {
    uint64_t version = 0;
    {
      LivePlacement::WriteTicket ticket = placement_.BeginWrite();
      version = ticket.placement().state().version;
      ASSIGN_OR_RETURN(ReplicatedPutResult result,
                       ReplicatedPut(*pool_, ticket.placement(), key, size, sha256, make_source));
      for (const NodeAttempt& failed : result.failed) {
        ++write_replica_failures_;
        spdlog::warn("wrote {} without its replica on {} (repair will copy it later): {}", key,
                     failed.node, failed.status.message());
      }
    }  // the ticket is released first: adopting a new ring waits for it
    if (!options_.shared_store) return absl::OkStatus();
    ASSIGN_OR_RETURN(bool still_current, ring_.CatchUpWithStore(version));
    if (still_current) return absl::OkStatus();
    if (round == kMaxRounds) {
      return absl::UnavailableError(
          absl::StrCat("the storage ring changed ", kMaxRounds, " times while writing ", key));
    }
    spdlog::info("the storage ring changed while {} was written; writing it again", key);
  }
}

absl::Status NetworkContentService::AdoptState(const RingState& state) {
  return ring_.AdoptState(state);
}

// ---- Reads ----

absl::StatusOr<std::unique_ptr<ContentReader>> NetworkContentService::Read(
    std::string_view video_id, std::string_view filename, std::optional<ByteRange> range,
    std::string_view expected_sha256) {
  ASSIGN_OR_RETURN(std::string key, KeyFor(video_id, filename));
  std::vector<std::string> nodes = pool_->UpFirst(placement_.Current()->ReadOrderFor(key));
  if (range.has_value() && range->length == 0) {
    // The storage API reads to the end for length 0; here it means no bytes.
    ASSIGN_OR_RETURN(ContentInfo info, StatKey(key, nodes, expected_sha256));
    if (range->offset > info.size) {
      return absl::OutOfRangeError(absl::StrCat("offset ", range->offset, " lies past the end of ",
                                                key, " (", info.size, " bytes)"));
    }
    return std::make_unique<EmptyReader>();
  }
  ByteRange wanted = range.value_or(ByteRange{});
  return OpenReplicatedRead(*pool_, std::move(key), std::move(nodes), wanted.offset, wanted.length,
                            expected_sha256,
                            [this](const std::string& key, const std::string& bad,
                                   const std::string& good) { OnBadReplica(key, bad, good); });
}

absl::StatusOr<ContentInfo> NetworkContentService::Stat(std::string_view video_id,
                                                        std::string_view filename,
                                                        std::string_view expected_sha256) {
  ASSIGN_OR_RETURN(std::string key, KeyFor(video_id, filename));
  return StatKey(key, pool_->UpFirst(placement_.Current()->ReadOrderFor(key)), expected_sha256);
}

absl::StatusOr<ContentInfo> NetworkContentService::StatKey(const std::string& key,
                                                           const std::vector<std::string>& nodes,
                                                           std::string_view expected_sha256) {
  std::vector<NodeAttempt> attempts;
  for (const std::string& node : nodes) {
    absl::StatusOr<storage::BlobInfo> blob = pool_->Client(node).Stat(key);
    pool_->Report(node, blob.status());
    if (blob.ok() && !expected_sha256.empty() && blob->sha256 != expected_sha256) {
      blob = StaleCopyError(node, blob->sha256, expected_sha256);
    }
    if (!blob.ok()) {
      attempts.push_back({node, blob.status()});
      continue;
    }
    for (const NodeAttempt& attempt : attempts) {
      if (IsReplicaFault(attempt.status)) OnBadReplica(key, attempt.node, node);
    }
    return ContentInfo{blob->size, blob->sha256};
  }
  return NoReplicaServed(absl::StrCat("stat of ", key), attempts);
}

void NetworkContentService::OnBadReplica(const std::string& key, const std::string& bad_node,
                                         const std::string& good_node) {
  if (!StillWanted(key, bad_node)) return;
  spdlog::warn("replica of {} on {} is missing or damaged; repairing it from {}", key, bad_node,
               good_node);
  repairs_->Enqueue(RepairTask{key, bad_node, good_node});
}

bool NetworkContentService::StillWanted(const std::string& key, const std::string& node) const {
  std::vector<std::string> owners = placement_.Current()->WriteSetFor(key);
  return std::find(owners.begin(), owners.end(), node) != owners.end();
}

// ---- List, Delete, health ----

absl::StatusOr<std::vector<std::string>> NetworkContentService::List(std::string_view video_id) {
  RETURN_IF_ERROR(common::ValidateFolder(video_id));
  std::shared_ptr<const RingPlacement> placement = placement_.Current();
  const std::vector<std::string> nodes = AllNodesOf(placement->state());
  std::vector<std::vector<std::string>> names(nodes.size());
  std::vector<absl::Status> results(nodes.size());
  ParallelFor(nodes.size(), nodes.size(), [&](size_t i) {
    results[i] = pool_->Client(nodes[i]).ListEach(video_id, [&](const storage::BlobInfo& blob) {
      ASSIGN_OR_RETURN(auto parts, storage::SplitKey(blob.key));  // the name after the last '/'
      names[i].emplace_back(parts.second);
      return absl::OkStatus();
    });
    pool_->Report(nodes[i], results[i]);
  });
  std::set<std::string> all;
  std::vector<NodeAttempt> silent;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!results[i].ok()) silent.push_back({nodes[i], results[i]});
    all.insert(names[i].begin(), names[i].end());
  }
  // A written file is on at least a majority of its R replicas; while fewer
  // nodes than that are silent, one that answered has it.
  if (silent.size() >= MajorityOf(placement->current().replicas())) {
    return absl::UnavailableError(absl::StrCat(
        "cannot list video folder ", common::AsAbsl(video_id), ": ", DescribeAttempts(silent)));
  }
  return std::vector<std::string>(all.begin(), all.end());
}

// Recorded (a tombstone) and retried until every node has dropped the folder.
absl::Status NetworkContentService::Delete(std::string_view video_id) {
  return janitor_->DeleteFolder(video_id);
}

absl::Status NetworkContentService::CheckHealth() {
  const std::vector<std::string> nodes = placement_.Current()->state().nodes;
  std::vector<absl::Status> results(nodes.size());
  ParallelFor(nodes.size(), nodes.size(), [&](size_t i) {
    results[i] = pool_->Client(nodes[i]).Info().status();
    pool_->Report(nodes[i], results[i]);
  });
  std::vector<NodeAttempt> silent;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!results[i].ok()) silent.push_back({nodes[i], results[i]});
  }
  if (nodes.size() - silent.size() >= MajorityOf(nodes.size())) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("only ", nodes.size() - silent.size(), " of ",
                                             nodes.size(),
                                             " storage nodes answer: ", DescribeAttempts(silent)));
}

}  // namespace dvs::content
