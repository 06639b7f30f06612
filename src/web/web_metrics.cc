#include "web/web_metrics.h"

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "common/secrets.h"
#include "content/cache/cached_content_service.h"
#include "content/network/network_content_service.h"
#include "jobs/job_store.h"
#include "metrics/metrics_http.h"
#include "spdlog/spdlog.h"
#include "web/access_gate.h"

namespace dvs::web {
namespace {

using metrics::Sample;
using metrics::Type;

std::vector<Sample> One(double value) { return {Sample{{}, value}}; }

// A counter or gauge read from a field of a stats struct at every scrape.
template <typename Read>
metrics::CallbackHandle Scalar(metrics::Registry& registry, std::string_view name,
                               std::string_view help, Type type, Read read) {
  return registry.AddCallback(name, help, type, {},
                              [read] { return One(static_cast<double>(read())); });
}

// The cluster's status, asked again when older than a second.
class StatusCache {
 public:
  absl::StatusOr<content::ClusterStatus> Get(content::NetworkContentService& network) {
    std::lock_guard lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    if (now - read_at_ > std::chrono::seconds(1)) {
      status_ = network.Status();
      read_at_ = std::chrono::steady_clock::now();
    }
    return status_;
  }

 private:
  std::mutex mutex_;
  std::chrono::steady_clock::time_point read_at_;  // guarded by mutex_
  absl::StatusOr<content::ClusterStatus> status_;  // guarded by mutex_
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

metrics::Counter& UploadBytesCounter() {
  static metrics::Counter& counter = metrics::DefaultRegistry().AddCounter(
      "dvs_upload_bytes_total", "Bytes of upload bodies received (POST /upload).");
  return counter;
}

metrics::Gauge& UploadsInFlightGauge() {
  static metrics::Gauge& gauge = metrics::DefaultRegistry().AddGauge(
      "dvs_uploads_in_flight", "Uploads whose bodies are being received now.");
  return gauge;
}

void RegisterMetricsRoute(http::Router& router, AccessGate& gate, bool allow_remote,
                          const metrics::Registry& registry) {
  router.Add("GET", "/metrics", [&gate, allow_remote, &registry](http::Request& request) {
    if (!allow_remote && !common::IsLoopbackHost(request.remote_address)) {
      absl::StatusOr<access::Principal> who = gate.Identify(request);
      if (!who.ok()) return AccessGate::Refusal(request, who.status());
      absl::Status allowed = gate.Check(*who, access::Action::kObserve);
      if (!allowed.ok()) return AccessGate::Refusal(request, allowed);
    }
    return metrics::MetricsResponse(registry);
  });
}

BackendMetrics::BackendMetrics(metrics::Registry& registry, Sources sources) {
  if (sources.cache != nullptr) ObserveCache(registry, *sources.cache);
  if (sources.network != nullptr) ObserveNetwork(registry, *sources.network);
  if (sources.jobs != nullptr) ObserveJobs(registry, *sources.jobs);
}

BackendMetrics::~BackendMetrics() = default;

void BackendMetrics::ObserveCache(metrics::Registry& registry,
                                  const content::CachedContentService& cache) {
  const content::CachedContentService* c = &cache;
  handles_.push_back(Scalar(registry, "dvs_content_cache_hits_total",
                            "Reads answered from the in-memory cache of hot files.", Type::kCounter,
                            [c] { return c->stats().hits; }));
  handles_.push_back(Scalar(registry, "dvs_content_cache_misses_total",
                            "Reads the in-memory cache could not answer.", Type::kCounter,
                            [c] { return c->stats().misses; }));
  handles_.push_back(Scalar(registry, "dvs_content_cache_bytes",
                            "Bytes of files held in the in-memory cache.", Type::kGauge,
                            [c] { return c->stats().bytes; }));
  handles_.push_back(Scalar(registry, "dvs_content_cache_entries",
                            "Files held in the in-memory cache.", Type::kGauge,
                            [c] { return c->stats().entries; }));
}

void BackendMetrics::ObserveNetwork(metrics::Registry& registry,
                                    content::NetworkContentService& network) {
  content::NetworkContentService* n = &network;
  struct Field {
    const char* name;
    const char* help;
    uint64_t content::NetworkContentStats::*field;
  };
  static const Field kFields[] = {
      {"dvs_replica_write_failures_total", "Replicas a successful write missed (node down).",
       &content::NetworkContentStats::write_replica_failures},
      {"dvs_read_repairs_total", "Replicas copied again after a read found them missing or bad.",
       &content::NetworkContentStats::read_repairs},
      {"dvs_read_repairs_failed_total", "Read repairs that failed.",
       &content::NetworkContentStats::read_repairs_failed},
      {"dvs_read_repairs_dropped_total", "Read repairs dropped (the repair queue was full).",
       &content::NetworkContentStats::read_repairs_dropped},
      {"dvs_delete_skipped_nodes_total", "Nodes that were down when a video folder was deleted.",
       &content::NetworkContentStats::delete_skipped_nodes},
      {"dvs_migration_cleanup_failures_total",
       "Old copies not deleted after a ring change (migration).",
       &content::NetworkContentStats::cleanup_failures},
      {"dvs_ring_changes_committed_total", "Ring changes (node added or removed) committed.",
       &content::NetworkContentStats::ring_changes_committed},
      {"dvs_ring_changes_aborted_total", "Ring changes aborted (a copy failed).",
       &content::NetworkContentStats::ring_changes_aborted},
  };
  for (const Field& f : kFields) {
    auto field = f.field;
    handles_.push_back(
        Scalar(registry, f.name, f.help, Type::kCounter, [n, field] { return n->stats().*field; }));
  }
  // Status() asks every node for its usage (in parallel, with the client's
  // deadlines): the web server's own view of each node, shared by the three
  // series of one scrape.
  auto cache = std::make_shared<StatusCache>();
  auto probe = [n, cache](auto value) {
    std::vector<Sample> samples;
    absl::StatusOr<content::ClusterStatus> status = cache->Get(*n);
    if (!status.ok()) return samples;
    for (const content::NodeStatus& node : status->nodes) {
      samples.push_back(Sample{{node.address}, value(node)});
    }
    return samples;
  };
  handles_.push_back(registry.AddCallback(
      "dvs_storage_node_up", "1 when the storage node answers this web server, else 0.",
      Type::kGauge, {"node"}, [probe] {
        return probe([](const content::NodeStatus& s) { return s.healthy ? 1.0 : 0.0; });
      }));
  handles_.push_back(registry.AddCallback(
      "dvs_storage_node_used_bytes", "Bytes a storage node holds, as it reports them.",
      Type::kGauge, {"node"}, [probe] {
        return probe([](const content::NodeStatus& s) { return double(s.bytes_used); });
      }));
  handles_.push_back(registry.AddCallback(
      "dvs_storage_node_free_bytes", "Free bytes on a storage node's disk, as it reports them.",
      Type::kGauge, {"node"}, [probe] {
        return probe([](const content::NodeStatus& s) { return double(s.bytes_free); });
      }));
  handles_.push_back(Scalar(registry, "dvs_ring_epoch", "The epoch of the ring in force.",
                            Type::kGauge, [n] { return n->ring_state().epoch; }));
}

// Read at scrape time from the shared job records: every process's queue.
void BackendMetrics::ObserveJobs(metrics::Registry& registry, metadata::SmallRecordStore& store) {
  auto jobs = std::make_shared<jobs::JobStore>(store, NowMs);
  handles_.push_back(registry.AddCallback(
      "dvs_transcode_queue_jobs",
      "Transcoding jobs in the cluster's queue by state (queued: waiting for a slot).",
      Type::kGauge, {"state"}, [jobs] {
        std::vector<Sample> samples;
        absl::StatusOr<std::vector<jobs::JobRecord>> all = jobs->List();
        if (!all.ok()) return samples;
        std::map<std::string, double> counts{{"queued", 0}, {"running", 0}, {"failed", 0}};
        for (const jobs::JobRecord& job : *all) {
          std::string state(jobs::JobStateName(job.state));
          if (counts.contains(state)) ++counts[state];
        }
        for (const auto& [state, count] : counts) samples.push_back(Sample{{state}, count});
        return samples;
      }));
}

}  // namespace dvs::web
