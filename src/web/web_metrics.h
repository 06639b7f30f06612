// /metrics on `dvs web` and the series that are read, not counted: the
// hot-file cache, the storage cluster as this server sees it (node health and
// usage, replication and repair counters), and the transcoding queue, each
// read from what its subsystem keeps anyway at scrape time. Also the upload
// series that upload.cc counts. Thread-safe.
#pragma once

#include <memory>
#include <vector>

#include "http/router.h"
#include "metadata/small_record_store.h"
#include "metrics/registry.h"

namespace dvs::content {
class CachedContentService;
class ClusterAdmin;
class NetworkContentService;
}  // namespace dvs::content

namespace dvs::web {

class AccessGate;

// Upload bodies received (POST /upload), and uploads being received now.
metrics::Counter& UploadBytesCounter();
metrics::Gauge& UploadsInFlightGauge();

// GET /metrics: anyone from a loopback address (where Prometheus usually
// scrapes from, or a proxy: see README), anyone at all with `allow_remote`,
// and otherwise administrators with the admin scope (an admin token).
void RegisterMetricsRoute(http::Router& router, AccessGate& gate, bool allow_remote,
                          const metrics::Registry& registry);

// The scrape-time series; they go when this is destroyed. Any pointer may be
// null (that backend is not in use); what is given must outlive this.
class BackendMetrics {
 public:
  struct Sources {
    const content::CachedContentService* cache = nullptr;
    content::NetworkContentService* network = nullptr;
    metadata::SmallRecordStore* jobs = nullptr;  // where the job records are
  };
  BackendMetrics(metrics::Registry& registry, Sources sources);
  ~BackendMetrics();

 private:
  void ObserveCache(metrics::Registry& registry, const content::CachedContentService& cache);
  void ObserveNetwork(metrics::Registry& registry, content::NetworkContentService& network);
  void ObserveJobs(metrics::Registry& registry, metadata::SmallRecordStore& store);

  std::vector<metrics::CallbackHandle> handles_;
};

}  // namespace dvs::web
