#include "web/serve.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "access/accounts.h"
#include "access/playback_signer.h"
#include "common/fd_limit.h"
#include "common/file_lock.h"
#include "common/status.h"
#include "common/strings.h"
#include "content/s3/s3_content_service.h"
#include "http/server.h"
#include "jobs/process_id_file.h"
#include "spdlog/spdlog.h"
#include "web/access_gate.h"
#include "web/app.h"
#include "web/backends.h"
#include "web/http_telemetry.h"
#include "web/status_page.h"
#include "web/web_metrics.h"

namespace dvs::web {
namespace {

constexpr int kExitStartupError = 1;
constexpr int kExitBadConfiguration = 2;

std::filesystem::path DefaultStaticDir() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path("static") : exe.parent_path() / "static";
}

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Where a random first admin password is written: beside the SQLite file,
// or the work folder (etcd: each server has one of its own).
std::filesystem::path DataFolder(const WebConfig& config) {
  if (config.backends.size() >= 2 && config.backends[0] == "sqlite") {
    std::filesystem::path parent = std::filesystem::path(config.backends[1]).parent_path();
    return parent.empty() ? std::filesystem::path(".") : parent;
  }
  return config.work_dir;
}

// DVS_ADMIN_PASSWORD, or the first line of --admin-password-file; nullopt
// for neither (a random one is made).
absl::StatusOr<std::optional<std::string>> AdminPassword(const WebConfig& config) {
  if (!config.admin_password_file.empty()) {
    std::ifstream in(config.admin_password_file);
    std::string line;
    if (!in || !std::getline(in, line)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read --admin-password-file ", config.admin_password_file));
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    return std::optional<std::string>(line);
  }
  if (const char* env = std::getenv("DVS_ADMIN_PASSWORD"); env != nullptr && *env != '\0') {
    return std::optional<std::string>(env);
  }
  return std::optional<std::string>();
}

absl::StatusOr<AccessOptions> MakeAccessOptions(const WebConfig& config) {
  AccessOptions options;
  options.site.listen_host = config.host;
  if (!config.public_url.empty()) {
    ASSIGN_OR_RETURN(options.site.public_url, access::ParsePublicUrl(config.public_url));
    options.secure_cookies = options.site.public_url->https();
  }
  options.policy.anonymous_uploads = config.anonymous_uploads;
  if (config.anonymous_uploads) {
    spdlog::warn(
        "--anonymous-uploads: anyone who reaches this server may upload videos; use it on a "
        "trusted network only");
  }
  return options;
}

absl::Status SetUpAccess(const WebConfig& config, access::Accounts& accounts) {
  ASSIGN_OR_RETURN(std::optional<std::string> password, AdminPassword(config));
  RETURN_IF_ERROR(access::BootstrapAdmin(accounts, std::move(password), DataFolder(config)));
  // Sessions nobody presents again would otherwise stay for ever.
  absl::StatusOr<size_t> dropped = accounts.tokens().DropExpired();
  if (!dropped.ok()) {
    spdlog::warn("cannot drop expired sessions and tokens: {}", dropped.status().message());
  } else if (*dropped > 0) {
    spdlog::info("dropped {} expired sessions and tokens", *dropped);
  }
  return absl::OkStatus();
}

// --max-connections, or fewer when they would not fit in the descriptor
// limit (raised to the hard limit by main) next to the reserve.
size_t MaxConnections(const WebConfig& config) {
  const size_t requested = static_cast<size_t>(config.max_connections);
  absl::StatusOr<common::FileLimit> limit = common::CurrentFileLimit();
  if (!limit.ok()) return requested;
  const uint64_t reserved = common::ReservedFds(config.transcode_jobs);
  size_t fit = common::ConnectionsThatFit(requested, limit->soft, reserved);
  if (fit < requested) {
    spdlog::warn(
        "--max-connections {} clamped to {}: the open-file limit is {} (hard {}), {} of it kept "
        "for files, pipes and gRPC and 2 for each connection; raise it with ulimit -n or "
        "LimitNOFILE=",
        requested, fit, limit->soft, limit->hard, reserved);
  }
  return fit;
}

// --s3-redirect: large files of public videos are sent by the store itself.
absl::Status ConfigureS3Redirect(const WebConfig& config, Backends& backends, AppOptions& options) {
  if (!config.s3_redirect) return absl::OkStatus();
  content::S3ContentService* s3 = backends.s3();
  if (s3 == nullptr) return absl::InvalidArgumentError("--s3-redirect needs s3 content");
  options.content_redirect = {
      .min_bytes = uint64_t(config.s3_redirect_min_kb) << 10,
      .url_for = [s3, expiry = std::chrono::seconds(config.s3_redirect_expiry_s)](
                     std::string_view folder, std::string_view name) {
        return s3->PresignedUrl(folder, name, expiry);
      }};
  spdlog::info("files of public videos from {} KiB up are redirected to the S3 store",
               config.s3_redirect_min_kb);
  return absl::OkStatus();
}

}  // namespace

int RunWebServer(const WebConfig& config) {
  // Held until after the backends close (declared first, destroyed last).
  std::optional<common::FileLock> sqlite_lock;
  if (config.backends.size() >= 2 && config.backends[0] == "sqlite") {
    absl::StatusOr<common::FileLock> locked =
        common::FileLock::Acquire(config.backends[1], "the SQLite file");
    if (!locked.ok()) {
      spdlog::error("{}", locked.status().message());
      return kExitStartupError;
    }
    sqlite_lock.emplace(std::move(*locked));
  }
  absl::StatusOr<std::unique_ptr<Backends>> backends = Backends::Open(config);
  if (!backends.ok()) {
    spdlog::error("{}", backends.status().message());
    return absl::IsInvalidArgument(backends.status()) ? kExitBadConfiguration : kExitStartupError;
  }
  absl::StatusOr<AccessOptions> access_options = MakeAccessOptions(config);
  if (!access_options.ok()) {
    spdlog::error("{}", access_options.status().message());
    return kExitBadConfiguration;
  }
  access::Accounts accounts((*backends)->metadata(), SystemNowMs);
  if (absl::Status ready = SetUpAccess(config, accounts); !ready.ok()) {
    spdlog::error("{}", ready.message());
    return absl::IsInvalidArgument(ready) ? kExitBadConfiguration : kExitStartupError;
  }
  AccessGate gate(accounts, *access_options);
  // Every web server of the cluster signs playback URLs with one key.
  absl::StatusOr<access::PlaybackSigner::Key> playback_key =
      access::LoadOrCreatePlaybackKey((*backends)->metadata());
  if (!playback_key.ok()) {
    spdlog::error("cannot load the playback signing secret: {}", playback_key.status().message());
    return kExitStartupError;
  }
  absl::StatusOr<jobs::ProcessIdFile> process_id = jobs::ProcessIdFile::Lock(config.work_dir);
  if (!process_id.ok()) {
    spdlog::error("{}", process_id.status().message());
    return kExitStartupError;
  }
  AppOptions options{
      .work_dir = config.work_dir,
      .static_dir = config.static_dir.empty() ? DefaultStaticDir() : config.static_dir};
  options.transcode.time_limit = std::chrono::seconds(config.transcode_timeout_s);
  options.max_concurrent_uploads = config.max_uploads;
  options.min_free_bytes = uint64_t{static_cast<uint32_t>(config.min_free_mb)} << 20;
  options.max_upload_bytes = config.upload_limit_bytes;
  options.upload_expiry = std::chrono::seconds(config.upload_expiry_s);
  options.playback_key = *playback_key;
  options.jobs = {.slots = config.transcode_jobs,
                  .max_queued = static_cast<size_t>(config.max_queued),
                  .retry_for_ms = int64_t{config.retry_for_s} * 1000,
                  .process_id = process_id->process_id(),
                  .process_id_is_exclusive = true,
                  // Shared content (nw, s3) keeps each job's source too.
                  .shared_sources = config.backends.size() > 2 && config.backends[2] != "fs",
                  .keep_failed_ms = int64_t{config.keep_failed_s} * 1000,
                  .timeout_factor = config.timeout_factor};
  if (absl::Status redirect = ConfigureS3Redirect(config, **backends, options); !redirect.ok()) {
    spdlog::error("{}", redirect.message());
    return kExitBadConfiguration;
  }
  App app(options, (*backends)->metadata(), (*backends)->content(), gate);

  http::Router router;
  app.RegisterRoutes(router);
  metrics::Registry& registry = metrics::DefaultRegistry();
  RegisterMetricsRoute(router, gate, config.metrics_allow_remote, registry);
  RegisterStatusPage(router, gate, (*backends)->cluster_admin(), (*backends)->metadata());
  HttpTelemetry telemetry(registry, config.access_log);
  BackendMetrics backend_metrics(registry, {.cache = (*backends)->cache(),
                                            .network = (*backends)->network(),
                                            .jobs = &(*backends)->metadata()});
  http::Server server(
      {.host = config.host,
       .port = config.port,
       .worker_threads = config.http_workers,
       .upload_limit = config.upload_limit_bytes,
       .read_timeout = std::chrono::seconds(config.read_timeout_s),
       .idle_timeout = std::chrono::seconds(config.idle_timeout_s),
       .max_connections = MaxConnections(config),
       .upload_pace = {.min_bytes_per_s = static_cast<uint64_t>(config.upload_min_rate_kib) * 1024,
                       .window = std::chrono::seconds(config.upload_rate_window_s),
                       .deadline = std::chrono::seconds(config.upload_deadline_s)},
       .request_filter = [&gate](const http::Request& request) { return gate.Filter(request); },
       .on_exchange = [&telemetry](const http::Exchange& exchange) { telemetry.Record(exchange); }},
      std::move(router));
  if (absl::Status started = server.Start(); !started.ok()) {
    spdlog::error("cannot listen on {}:{}: {}", config.host, config.port, started.message());
    return kExitStartupError;
  }
  if (absl::Status resumed = app.ResumeUnfinished(); !resumed.ok()) {
    spdlog::error("cannot resume unfinished videos: {}", resumed.message());
  }
  spdlog::info("dvs web serving http://{}:{}/ ({})", config.host, server.port(),
               (*backends)->Describe());
  server.Run();
  spdlog::info("stopping: giving the running jobs back");
  app.StopJobs();
  spdlog::info("stopped");
  return 0;
}

}  // namespace dvs::web
