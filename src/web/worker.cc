#include "web/worker.h"

#include <signal.h>

#include <chrono>
#include <memory>

#include "common/strings.h"
#include "jobs/process_id_file.h"
#include "metrics/metrics_http.h"
#include "spdlog/spdlog.h"
#include "web/app.h"
#include "web/backends.h"
#include "web/file_index_store.h"
#include "web/processing.h"
#include "web/web_metrics.h"

namespace dvs::web {
namespace {

constexpr int kExitStartupError = 1;
constexpr int kExitBadConfiguration = 2;

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Blocked before any thread starts, so that only sigwait sees them.
sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

AppOptions WorkerOptions(const WebConfig& config, const std::string& process_id) {
  AppOptions options{.work_dir = config.work_dir};
  options.min_free_bytes = uint64_t{static_cast<uint32_t>(config.min_free_mb)} << 20;
  options.now_ms = SystemNowMs;
  options.transcode.time_limit = std::chrono::seconds(config.transcode_timeout_s);
  options.jobs = {.slots = config.transcode_jobs,
                  .retry_for_ms = int64_t{config.retry_for_s} * 1000,
                  .process_id = process_id,
                  .process_id_is_exclusive = true,
                  .shared_sources = true,
                  .keep_failed_ms = int64_t{config.keep_failed_s} * 1000,
                  .role = "worker",
                  .timeout_factor = config.timeout_factor};
  return options;
}

}  // namespace

int RunWorker(const WebConfig& config) {
  const sigset_t stop_signals = BlockStopSignals();
  if (config.backends.size() != 4 || config.backends[0] != "etcd" || config.backends[2] != "nw") {
    spdlog::error("dvs worker needs etcd ENDPOINT[,ENDPOINT...] nw ADMIN:PORT,NODE[,NODE...]");
    return kExitBadConfiguration;
  }
  absl::StatusOr<jobs::ProcessIdFile> process_id = jobs::ProcessIdFile::Lock(config.work_dir);
  if (!process_id.ok()) {
    spdlog::error("{}", process_id.status().message());
    return kExitStartupError;
  }
  absl::StatusOr<std::unique_ptr<Backends>> backends = Backends::Open(config);
  if (!backends.ok()) {
    spdlog::error("{}", backends.status().message());
    return absl::IsInvalidArgument(backends.status()) ? kExitBadConfiguration : kExitStartupError;
  }
  const AppOptions options = WorkerOptions(config, process_id->process_id());
  FileIndexStore indexes((*backends)->content());
  VideoProcessor processor(options, (*backends)->metadata(), (*backends)->content(), indexes);
  if (absl::Status started = processor.StartJobs(); !started.ok()) {
    spdlog::error("cannot start the job runner: {}", started.message());
    return kExitStartupError;
  }
  BackendMetrics backend_metrics(metrics::DefaultRegistry(), {.jobs = &(*backends)->metadata()});
  std::unique_ptr<metrics::MetricsListener> metrics_listener;
  if (config.metrics_port >= 0) {
    absl::StatusOr<std::unique_ptr<metrics::MetricsListener>> listener =
        metrics::MetricsListener::Start(config.host, static_cast<uint16_t>(config.metrics_port),
                                        metrics::DefaultRegistry());
    if (!listener.ok()) {
      spdlog::error("cannot serve /metrics: {}", listener.status().message());
      return kExitStartupError;
    }
    metrics_listener = std::move(*listener);
    spdlog::info("/metrics on http://{}:{}/metrics", config.host, metrics_listener->port());
  }
  spdlog::info("dvs worker running up to {} jobs ({})", config.transcode_jobs,
               (*backends)->Describe());
  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("stopping: giving the running jobs back");
  processor.StopJobs();
  spdlog::info("stopped");
  return 0;
}

}  // namespace dvs::web
