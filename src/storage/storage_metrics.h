// /metrics of `dvs storage` (--metrics-port): the store's usage read at
// scrape time, served over HTTP by a listener of its own beside the gRPC
// server. Thread-safe.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "metrics/metrics_http.h"
#include "metrics/registry.h"
#include "storage/storage_server.h"

namespace dvs::storage {

// The series and their listener; both stop when this is destroyed.
struct StorageMetrics {
  std::vector<metrics::CallbackHandle> handles;
  std::unique_ptr<metrics::MetricsListener> listener;
};

// The store's series in `registry`: bytes used and free, blob count, damaged
// blobs, and the scrubber's progress and findings.
std::vector<metrics::CallbackHandle> ObserveStorage(metrics::Registry& registry,
                                                    const StorageServer& server);

// With config.metrics_port >= 0: the series in the process registry, served
// on config.host:metrics_port. `server` must outlive the result.
[[nodiscard]] absl::StatusOr<std::unique_ptr<StorageMetrics>> ServeStorageMetrics(
    const StorageServer& server, const StorageConfig& config);

}  // namespace dvs::storage
