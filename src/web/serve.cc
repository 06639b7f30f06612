#include "web/serve.h"

#include <unistd.h>

#include <memory>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "http/server.h"
#include "media/job_queue.h"
#include "spdlog/spdlog.h"
#include "web/app.h"
#include "web/backends.h"

namespace dvs::web {
namespace {

constexpr int kExitStartupError = 1;
constexpr int kExitBadConfiguration = 2;

std::filesystem::path DefaultStaticDir() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path("static") : exe.parent_path() / "static";
}

}  // namespace

int RunWebServer(const WebConfig& config) {
  absl::StatusOr<std::unique_ptr<Backends>> backends = Backends::Open(config);
  if (!backends.ok()) {
    spdlog::error("{}", backends.status().message());
    return absl::IsInvalidArgument(backends.status()) ? kExitBadConfiguration : kExitStartupError;
  }
  media::JobQueue jobs(config.transcode_jobs);
  AppOptions options{
      .work_dir = config.work_dir,
      .static_dir = config.static_dir.empty() ? DefaultStaticDir() : config.static_dir};
  options.transcode.time_limit = std::chrono::seconds(config.transcode_timeout_s);
  options.max_concurrent_uploads = config.max_uploads;
  App app(options, (*backends)->metadata(), (*backends)->content(), jobs);

  http::Router router;
  app.RegisterRoutes(router);
  http::Server server({.host = config.host,
                       .port = config.port,
                       .worker_threads = config.http_workers,
                       .upload_limit = config.upload_limit_bytes,
                       .read_timeout = std::chrono::seconds(config.read_timeout_s),
                       .idle_timeout = std::chrono::seconds(config.idle_timeout_s),
                       .max_connections = static_cast<size_t>(config.max_connections)},
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
  spdlog::info("stopping: finishing the running jobs' current step");
  jobs.Shutdown();
  spdlog::info("stopped");
  return 0;
}

}  // namespace dvs::web
