#include "web/serve.h"

#include <unistd.h>

#include <memory>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "content/fs/fs_content_service.h"
#include "http/server.h"
#include "media/job_queue.h"
#include "metadata/sqlite/sqlite_metadata_service.h"
#include "spdlog/spdlog.h"
#include "web/app.h"

namespace dvs::web {
namespace {

constexpr int kExitStartupError = 1;
constexpr int kExitUnsupported = 2;

std::filesystem::path DefaultStaticDir() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path("static") : exe.parent_path() / "static";
}

// Which backends the positional arguments name; 0 when this build runs them.
int CheckBackends(const std::vector<std::string>& backends) {
  if (backends.size() != 4) {
    spdlog::error("expected METADATA_TYPE METADATA_OPTIONS CONTENT_TYPE CONTENT_OPTIONS, "
                  "e.g. `sqlite ./data/metadata.db fs ./data/content`");
    return kExitUnsupported;
  }
  if (backends[0] != "sqlite" && backends[0] != "etcd") {
    spdlog::error("unknown metadata type \"{}\": use sqlite or etcd", backends[0]);
    return kExitUnsupported;
  }
  if (backends[2] != "fs" && backends[2] != "nw") {
    spdlog::error("unknown content type \"{}\": use fs or nw", backends[2]);
    return kExitUnsupported;
  }
  for (int i : {0, 2}) {
    if (backends[i] == "etcd" || backends[i] == "nw") {
      spdlog::error("the \"{}\" backend is not available in this build", backends[i]);
      return kExitUnsupported;
    }
  }
  return 0;
}

}  // namespace

int RunWebServer(const WebConfig& config) {
  if (int code = CheckBackends(config.backends); code != 0) return code;
  auto metadata = metadata::SqliteMetadataService::Open(config.backends[1]);
  if (!metadata.ok()) {
    spdlog::error("cannot open the metadata database: {}", metadata.status().message());
    return kExitStartupError;
  }
  auto content = content::FsContentService::Open(config.backends[3]);
  if (!content.ok()) {
    spdlog::error("cannot open the content folder: {}", content.status().message());
    return kExitStartupError;
  }
  media::JobQueue jobs(config.transcode_jobs);
  AppOptions options{.work_dir = config.work_dir,
                     .static_dir = config.static_dir.empty() ? DefaultStaticDir()
                                                             : config.static_dir};
  options.transcode.time_limit = std::chrono::seconds(config.transcode_timeout_s);
  App app(options, **metadata, **content, jobs);

  http::Router router;
  app.RegisterRoutes(router);
  http::Server server({.host = config.host,
                       .port = config.port,
                       .worker_threads = config.http_workers,
                       .upload_limit = config.upload_limit_bytes},
                      std::move(router));
  if (absl::Status started = server.Start(); !started.ok()) {
    spdlog::error("cannot listen on {}:{}: {}", config.host, config.port, started.message());
    return kExitStartupError;
  }
  if (absl::Status resumed = app.ResumeUnfinished(); !resumed.ok()) {
    spdlog::error("cannot resume unfinished videos: {}", resumed.message());
  }
  spdlog::info("dvs web serving http://{}:{}/ (metadata: {} {}, content: {} {})", config.host,
               server.port(), config.backends[0], config.backends[1], config.backends[2],
               config.backends[3]);
  server.Run();
  spdlog::info("stopping: finishing the running jobs' current step");
  jobs.Shutdown();
  spdlog::info("stopped");
  return 0;
}

}  // namespace dvs::web
