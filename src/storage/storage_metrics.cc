#include "storage/storage_metrics.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "common/status.h"

namespace dvs::storage {
namespace {

using metrics::Sample;

// One gauge read from the store's NodeInfo; none when the store cannot say.
metrics::CallbackHandle InfoGauge(metrics::Registry& registry, std::string_view name,
                                  std::string_view help, const StorageServer& server,
                                  uint64_t NodeInfo::*field) {
  return registry.AddCallback(name, help, metrics::Type::kGauge, {}, [&server, field] {
    std::vector<Sample> samples;
    absl::StatusOr<NodeInfo> info = server.Info();
    if (info.ok()) samples.push_back(Sample{{}, static_cast<double>((*info).*field)});
    return samples;
  });
}

// One counter read from the scrubber's stats.
metrics::CallbackHandle ScrubCounter(metrics::Registry& registry, std::string_view name,
                                     std::string_view help, const StorageServer& server,
                                     uint64_t ScrubStats::*field) {
  return registry.AddCallback(name, help, metrics::Type::kCounter, {}, [&server, field] {
    return std::vector<Sample>{Sample{{}, static_cast<double>(server.scrub_stats().*field)}};
  });
}

}  // namespace

std::vector<metrics::CallbackHandle> ObserveStorage(metrics::Registry& registry,
                                                    const StorageServer& server) {
  std::vector<metrics::CallbackHandle> handles;
  handles.push_back(InfoGauge(registry, "dvs_storage_bytes_used",
                              "Bytes of the blobs this storage server holds.", server,
                              &NodeInfo::bytes_used));
  handles.push_back(InfoGauge(registry, "dvs_storage_bytes_free",
                              "Free bytes on the disk of this storage server's folder.", server,
                              &NodeInfo::bytes_free));
  handles.push_back(InfoGauge(registry, "dvs_storage_blobs", "Blobs this storage server holds.",
                              server, &NodeInfo::blob_count));
  handles.push_back(InfoGauge(registry, "dvs_storage_corrupt_blobs",
                              "Blobs found damaged and not yet stored again (repaired).", server,
                              &NodeInfo::corrupt_count));
  handles.push_back(ScrubCounter(registry, "dvs_storage_checksum_failures_total",
                                 "Blobs the scrubber found not matching their checksums.", server,
                                 &ScrubStats::corrupt_found));
  handles.push_back(ScrubCounter(registry, "dvs_storage_scrub_passes_total",
                                 "Full scrub passes finished.", server,
                                 &ScrubStats::passes_completed));
  handles.push_back(ScrubCounter(registry, "dvs_storage_scrub_verified_bytes_total",
                                 "Bytes the scrubber read and checked (its progress).", server,
                                 &ScrubStats::bytes_verified));
  handles.push_back(ScrubCounter(registry, "dvs_storage_scrub_verified_blobs_total",
                                 "Blobs the scrubber read and checked.", server,
                                 &ScrubStats::blobs_verified));
  handles.push_back(ScrubCounter(registry, "dvs_storage_scrub_read_errors_total",
                                 "Blobs the scrubber could not read (other than damage).", server,
                                 &ScrubStats::read_errors));
  return handles;
}

absl::StatusOr<std::unique_ptr<StorageMetrics>> ServeStorageMetrics(const StorageServer& server,
                                                                    const StorageConfig& config) {
  auto result = std::make_unique<StorageMetrics>();
  if (config.metrics_port < 0) return result;
  metrics::Registry& registry = metrics::DefaultRegistry();
  result->handles = ObserveStorage(registry, server);
  ASSIGN_OR_RETURN(result->listener,
                   metrics::MetricsListener::Start(
                       config.host, static_cast<uint16_t>(config.metrics_port), registry));
  spdlog::info("dvs storage: /metrics on http://{}:{}/metrics", config.host,
               result->listener->port());
  return result;
}

}  // namespace dvs::storage
