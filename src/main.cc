// `dvs`: subcommand dispatch only. Each subcommand's flags may also come from
// DVS_* environment variables.
#include <cstdio>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "admin/admin_cli.h"
#include "storage/storage_server.h"
#include "web/serve.h"

namespace {

constexpr int kExitUnsupported = 2;

void AddWebCommand(CLI::App& dvs, dvs::web::WebConfig& config) {
  CLI::App* web =
      dvs.add_subcommand("web", "Serve the web UI and API: upload, transcode to DASH/HLS, stream");
  web->add_option("--host", config.host, "Address to listen on")
      ->envname("DVS_HOST")
      ->capture_default_str();
  web->add_option("--port", config.port, "Port to listen on (0 picks a free one)")
      ->envname("DVS_PORT")
      ->capture_default_str();
  web->add_option("--work-dir", config.work_dir, "Folder for uploads in flight and transcoding")
      ->envname("DVS_WORK_DIR")
      ->capture_default_str();
  web->add_option("--static-dir", config.static_dir,
                  "Folder of the UI's static files (default: static/ beside the binary)")
      ->envname("DVS_STATIC_DIR");
  web->add_option("--upload-limit", config.upload_limit_bytes,
                  "Largest upload in bytes (413 over it)")
      ->envname("DVS_UPLOAD_LIMIT")
      ->capture_default_str();
  web->add_option("--jobs", config.transcode_jobs, "Videos transcoded at once")
      ->envname("DVS_JOBS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  web->add_option("--transcode-timeout", config.transcode_timeout_s,
                  "Seconds one video may take to transcode")
      ->envname("DVS_TRANSCODE_TIMEOUT")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  web->add_option("--http-workers", config.http_workers, "Threads that run request handlers")
      ->envname("DVS_HTTP_WORKERS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  web->add_option("--max-uploads", config.max_uploads, "Uploads received at once; more get 429")
      ->envname("DVS_MAX_UPLOADS")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  web->add_option("--max-connections", config.max_connections,
                  "Open HTTP connections; more get 503")
      ->envname("DVS_MAX_CONNECTIONS")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  web->add_option("--read-timeout", config.read_timeout_s,
                  "Seconds a client may take for each read of a request's header or body "
                  "(a stalled client is dropped after it)")
      ->envname("DVS_READ_TIMEOUT")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  web->add_option("--idle-timeout", config.idle_timeout_s,
                  "Seconds an idle keep-alive connection is kept")
      ->envname("DVS_IDLE_TIMEOUT")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  web->add_option("--cache-mb", config.cache_mb,
                  "MiB of hot files (manifests, segments) served from memory; 0 turns it off")
      ->envname("DVS_CACHE_MB")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  web->add_option("--replicas", config.replicas, "nw: copies of each file, on a first start")
      ->envname("DVS_REPLICAS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  web->add_option("--vnodes", config.vnodes, "nw: ring points per storage node, on a first start")
      ->envname("DVS_VNODES")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  web->add_option("--admin-token", config.admin_token,
                  "nw: every admin call must carry `authorization: Bearer TOKEN`")
      ->envname("DVS_ADMIN_TOKEN");
  web->add_flag("--admin-allow-remote", config.admin_allow_remote,
                "nw: let the admin server listen on a non-loopback address")
      ->envname("DVS_ADMIN_ALLOW_REMOTE");
  web->add_option("--etcd-prefix", config.etcd_prefix,
                  "etcd: the key prefix (several services may share one etcd)")
      ->capture_default_str()
      ->envname("DVS_ETCD_PREFIX");
  web->add_option("backends", config.backends,
                  "METADATA_TYPE METADATA_OPTIONS CONTENT_TYPE CONTENT_OPTIONS:\n"
                  "  sqlite PATH | etcd ENDPOINT[,ENDPOINT...]   and   fs DIR | nw "
                  "ADMIN:PORT,NODE[,NODE...]\n"
                  "  (default: sqlite ./data/metadata.db fs ./data/content)")
      ->expected(4);
}

void AddStorageCommand(CLI::App& dvs, dvs::storage::StorageConfig& config) {
  CLI::App* storage =
      dvs.add_subcommand("storage", "Run a storage server: blobs in DIR, over gRPC");
  storage->add_option("--host", config.host, "Address to listen on")
      ->envname("DVS_STORAGE_HOST")
      ->capture_default_str();
  storage->add_option("--port", config.port, "Port to listen on (0 picks a free one)")
      ->envname("DVS_STORAGE_PORT")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  storage->add_option("dir", config.dir, "Folder that holds the blobs and their index")->required();
}

// `dvs admin ACTION SERVER [NODE]`. Usage problems past CLI11's own (a bad
// action, SERVER or NODE) are RunAdminCommand's: it exits 2 for them.
struct AdminFlags {
  dvs::admin::AdminCommand command;
  double timeout_s = 0;
  CLI::Option* timeout = nullptr;  // given or not: the default differs per action
};

void AddAdminCommand(CLI::App& dvs, AdminFlags& flags) {
  dvs::admin::AdminCommand& command = flags.command;
  CLI::App* admin =
      dvs.add_subcommand("admin", "Manage the storage cluster: list, add, remove, status, repair");
  admin->footer(dvs::admin::kAdminUsage);
  admin->add_option("action", command.action, "list | add | remove | status | repair");
  admin->add_option("server", command.server, "The admin address (host:port) of `dvs web ... nw`");
  admin->add_option("node", command.node, "The storage node (host:port), for add and remove");
  admin->add_flag("--json", command.json, "Print one JSON object on stdout");
  admin->add_option("--token", command.token, "The admin token, if the server wants one")
      ->envname("DVS_ADMIN_TOKEN");
  flags.timeout = admin->add_option(
      "--timeout", flags.timeout_s,
      "Seconds to wait for the server; 0: no limit (default: 10 for list and status, none for "
      "add, remove and repair)");
}

int RunAdmin(AdminFlags& flags) {
  if (flags.timeout->count() > 0) flags.command.timeout_s = flags.timeout_s;
  return dvs::admin::RunAdminCommand(flags.command);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App dvs{"dvs: distributed video storage and streaming"};
  dvs.require_subcommand(1);
  dvs::web::WebConfig web_config;
  AddWebCommand(dvs, web_config);
  dvs::storage::StorageConfig storage_config;
  AddStorageCommand(dvs, storage_config);
  AdminFlags admin_flags;
  AddAdminCommand(dvs, admin_flags);
  CLI11_PARSE(dvs, argc, argv);

  if (dvs.got_subcommand("web")) return dvs::web::RunWebServer(web_config);
  if (dvs.got_subcommand("storage")) return dvs::storage::RunStorageServer(storage_config);
  if (dvs.got_subcommand("admin")) return RunAdmin(admin_flags);
  std::fprintf(stderr, "dvs %s: not available in this build\n",
               dvs.get_subcommands().front()->get_name().c_str());
  return kExitUnsupported;
}
