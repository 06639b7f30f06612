// `dvs`: subcommand dispatch only. Each subcommand's flags may also come from
// DVS_* environment variables.
#include <malloc.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "admin/admin_cli.h"
#include "common/fd_limit.h"
#include "common/secrets.h"
#include "metrics/log_format.h"
#include "storage/storage_server.h"
#include "web/serve.h"
#include "web/worker.h"

namespace {

constexpr int kExitUnsupported = 2;
constexpr int kExitUsage = 2;

// --cluster-token / DVS_CLUSTER_TOKEN, or --cluster-token-file: the storage
// RPCs' credential (DESIGN §6). Resolved after parsing (ResolveClusterToken).
struct ClusterTokenFlags {
  std::string* token = nullptr;  // where the resolved token goes
  std::string file;
  CLI::Option* token_option = nullptr;
};

void AddClusterTokenFlags(CLI::App* app, std::string& token, ClusterTokenFlags& flags) {
  flags.token = &token;
  flags.token_option =
      app->add_option("--cluster-token", token,
                      "Storage RPCs carry `authorization: Bearer TOKEN` (prefer the file or "
                      "the environment: a command line is visible to other users)")
          ->envname("DVS_CLUSTER_TOKEN");
  app->add_option("--cluster-token-file", flags.file,
                  "Read the cluster token from this file (its trailing newline dropped)")
      ->envname("DVS_CLUSTER_TOKEN_FILE")
      ->excludes(flags.token_option);
}

// False, with a message, for an empty token or an unreadable token file.
bool ResolveClusterToken(const ClusterTokenFlags& flags) {
  if (!flags.file.empty()) {
    absl::StatusOr<std::string> token =
        dvs::common::ReadTokenFile(flags.file, "--cluster-token-file");
    if (!token.ok()) {
      std::fprintf(stderr, "dvs: %s\n", std::string(token.status().message()).c_str());
      return false;
    }
    *flags.token = std::move(*token);
  } else if (flags.token_option->count() > 0 && flags.token->empty()) {
    std::fprintf(stderr, "dvs: --cluster-token is empty\n");
    return false;
  }
  return true;
}

void AddTlsServerFlags(CLI::App* app, std::string& cert, std::string& key, std::string_view what) {
  app->add_option("--tls-cert", cert, std::string(what) + ": TLS certificate (PEM); with --tls-key")
      ->envname("DVS_TLS_CERT");
  app->add_option("--tls-key", key, std::string(what) + ": TLS private key (PEM); with --tls-cert")
      ->envname("DVS_TLS_KEY");
}

// --log-format on each serving subcommand; applied after parsing.
void AddLogFormatFlag(CLI::App* app, std::string& format) {
  app->add_option("--log-format", format, "Log lines as text, or one JSON object each (json)")
      ->envname("DVS_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
}

void AddWebCommand(CLI::App& dvs, dvs::web::WebConfig& config, ClusterTokenFlags& token) {
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
  web->add_option("--upload-expiry", config.upload_expiry_s,
                  "Seconds an unfinished resumable (tus) upload is kept after its last chunk")
      ->envname("DVS_UPLOAD_EXPIRY")
      ->check(CLI::Range(1, 365 * 86400))
      ->capture_default_str();
  web->add_option("--jobs", config.transcode_jobs,
                  "Videos transcoded at once by this server (0: none, workers do it)")
      ->envname("DVS_JOBS")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  web->add_option(
         "--max-queued", config.max_queued,
         "Videos waiting to be processed, cluster-wide; more uploads get 429 (0: no bound)")
      ->envname("DVS_MAX_QUEUED")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  web->add_option(
         "--retry-for", config.retry_for_s,
         "Seconds a video's retryable errors (storage or etcd away, disk full) are retried")
      ->envname("DVS_RETRY_FOR")
      ->check(CLI::Range(0, 30 * 86400))
      ->capture_default_str();
  web->add_option("--keep-failed", config.keep_failed_s,
                  "Seconds a failed video's source is kept for a retry")
      ->envname("DVS_KEEP_FAILED")
      ->check(CLI::Range(0, 365 * 86400))
      ->capture_default_str();
  web->add_option("--transcode-timeout", config.transcode_timeout_s,
                  "Seconds an ffmpeg run of a video's ladder may always take (the floor of "
                  "--timeout-factor's limit)")
      ->envname("DVS_TRANSCODE_TIMEOUT")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  web->add_option("--timeout-factor", config.timeout_factor,
                  "An ffmpeg run of a video's ladder (one rendition, say) may take this many "
                  "times the video's duration")
      ->envname("DVS_TIMEOUT_FACTOR")
      ->check(CLI::Range(0.0, 1000.0))
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
  web->add_option("--upload-min-rate", config.upload_min_rate_kib,
                  "KiB/s an upload must average over each --upload-rate-window, or it is "
                  "dropped (408) and its slot freed (0: no minimum)")
      ->envname("DVS_UPLOAD_MIN_RATE")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  web->add_option("--upload-rate-window", config.upload_rate_window_s,
                  "Seconds over which an upload's rate is averaged")
      ->envname("DVS_UPLOAD_RATE_WINDOW")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  web->add_option("--upload-deadline", config.upload_deadline_s,
                  "Seconds an upload's body may take in all, or it is dropped (408)")
      ->envname("DVS_UPLOAD_DEADLINE")
      ->check(CLI::Range(1, 7 * 86400))
      ->capture_default_str();
  web->add_option("--min-free-mb", config.min_free_mb,
                  "MiB kept free on the work folder's disk: an upload that would not fit above "
                  "it (twice its declared length) gets 507, a job waits")
      ->envname("DVS_MIN_FREE_MB")
      ->check(CLI::Range(0, 1 << 30))
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
  web->add_flag("--s3-redirect", config.s3_redirect,
                "s3: answer GETs of large files of public videos with a 307 to a presigned URL "
                "of the store")
      ->envname("DVS_S3_REDIRECT");
  web->add_option("--s3-redirect-min-kb", config.s3_redirect_min_kb,
                  "s3: files from this size up are redirected (with --s3-redirect)")
      ->envname("DVS_S3_REDIRECT_MIN_KB")
      ->check(CLI::Range(0, 1 << 22))
      ->capture_default_str();
  web->add_option("--replicas", config.replicas, "nw: copies of each file, on a first start")
      ->envname("DVS_REPLICAS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  web->add_option("--vnodes", config.vnodes, "nw: ring points per storage node, on a first start")
      ->envname("DVS_VNODES")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  web->add_option("--copy-parallelism", config.copy_parallelism,
                  "nw: files a ring change or repair copies (and deletes) at once")
      ->envname("DVS_COPY_PARALLELISM")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  web->add_option("--upkeep-every", config.upkeep_every_s,
                  "nw: seconds between retries of unfinished deletes (nodes that were down) and "
                  "checks of the storage nodes for blobs their scrubbers found damaged")
      ->envname("DVS_UPKEEP_EVERY")
      ->check(CLI::Range(0.05, 1e7))
      ->capture_default_str();
  web->add_option("--gc-every", config.gc_every_s,
                  "nw: seconds between garbage-collection passes (0: only `dvs admin repair`)")
      ->envname("DVS_GC_EVERY")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  web->add_option("--gc-grace", config.gc_grace_s,
                  "nw: seconds a video folder no record references is kept before garbage "
                  "collection deletes it")
      ->envname("DVS_GC_GRACE")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  AddClusterTokenFlags(web, config.cluster_token, token);
  web->add_option("--admin-token", config.admin_token,
                  "nw: every admin call must carry `authorization: Bearer TOKEN`")
      ->envname("DVS_ADMIN_TOKEN");
  web->add_flag("--admin-allow-remote", config.admin_allow_remote,
                "nw: let the admin server listen on a non-loopback address")
      ->envname("DVS_ADMIN_ALLOW_REMOTE");
  AddTlsServerFlags(web, config.tls_cert_file, config.tls_key_file, "nw: the admin server");
  web->add_option("--tls-ca", config.tls_ca_file,
                  "nw: talk TLS to storage nodes, trusting the CA certificates in this PEM file")
      ->envname("DVS_TLS_CA");
  web->add_option("--etcd-user", config.etcd_user, "etcd: log in as this user (etcd auth)")
      ->envname("DVS_ETCD_USER");
  web->add_option("--etcd-password", config.etcd_password,
                  "etcd: the user's password (prefer DVS_ETCD_PASSWORD: a command line is "
                  "visible to other users)")
      ->envname("DVS_ETCD_PASSWORD");
  web->add_option("--etcd-ca", config.etcd_ca_file,
                  "etcd: talk TLS, trusting the CA certificates in this PEM file")
      ->envname("DVS_ETCD_CA");
  web->add_option("--etcd-cert", config.etcd_cert_file, "etcd: TLS client certificate (PEM)")
      ->envname("DVS_ETCD_CERT");
  web->add_option("--etcd-key", config.etcd_key_file, "etcd: TLS client key (PEM)")
      ->envname("DVS_ETCD_KEY");
  web->add_option("--etcd-prefix", config.etcd_prefix,
                  "etcd: the key prefix (several services may share one etcd)")
      ->capture_default_str()
      ->envname("DVS_ETCD_PREFIX");
  web->add_option("--public-url", config.public_url,
                  "Where users reach this server (http[s]://host[:port]); its host is accepted in "
                  "Host headers, and https makes the session cookie Secure")
      ->envname("DVS_PUBLIC_URL");
  web->add_flag("--anonymous-uploads", config.anonymous_uploads,
                "Let anyone upload without logging in (a trusted LAN only)")
      ->envname("DVS_ANONYMOUS_UPLOADS");
  web->add_flag("--access-log", config.access_log,
                "Log one line per HTTP request (no query strings, credentials or signatures)")
      ->envname("DVS_ACCESS_LOG");
  web->add_flag("--metrics-allow-remote", config.metrics_allow_remote,
                "Serve /metrics to anyone (default: loopback clients and admin tokens only)")
      ->envname("DVS_METRICS_ALLOW_REMOTE");
  web->add_option("--admin-password-file", config.admin_password_file,
                  "On a first start: the password of the user \"admin\" (else "
                  "DVS_ADMIN_PASSWORD, else a random one written to the data folder)")
      ->envname("DVS_ADMIN_PASSWORD_FILE");
  web->add_option("backends", config.backends,
                  "METADATA_TYPE METADATA_OPTIONS CONTENT_TYPE CONTENT_OPTIONS:\n"
                  "  sqlite PATH | etcd ENDPOINT[,ENDPOINT...]   and   fs DIR | nw "
                  "ADMIN:PORT,NODE[,NODE...] | s3 http[s]://ENDPOINT/BUCKET[/PREFIX]\n"
                  "  (default: sqlite ./data/metadata.db fs ./data/content)")
      ->expected(4);
}

// `dvs worker`: the job flags of `dvs web` and what reaches the cluster.
void AddWorkerCommand(CLI::App& dvs, dvs::web::WebConfig& config, ClusterTokenFlags& token) {
  CLI::App* worker = dvs.add_subcommand(
      "worker", "Only transcode: claim video jobs from the cluster's queue (no HTTP)");
  worker->add_option("--jobs", config.transcode_jobs, "Videos transcoded at once")
      ->envname("DVS_JOBS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  worker->add_option("--work-dir", config.work_dir, "Folder for sources and ffmpeg's output")
      ->envname("DVS_WORK_DIR")
      ->capture_default_str();
  worker
      ->add_option("--transcode-timeout", config.transcode_timeout_s,
                   "Seconds an ffmpeg run of a video's ladder may always take (the floor of "
                   "--timeout-factor's limit)")
      ->envname("DVS_TRANSCODE_TIMEOUT")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  worker
      ->add_option("--timeout-factor", config.timeout_factor,
                   "An ffmpeg run may take this many times the video's duration")
      ->envname("DVS_TIMEOUT_FACTOR")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  worker
      ->add_option("--min-free-mb", config.min_free_mb,
                   "MiB kept free on the work folder's disk: below it no job is claimed")
      ->envname("DVS_MIN_FREE_MB")
      ->check(CLI::Range(0, 1 << 30))
      ->capture_default_str();
  worker->add_option("--retry-for", config.retry_for_s, "Seconds retryable errors are retried")
      ->envname("DVS_RETRY_FOR")
      ->check(CLI::Range(0, 30 * 86400))
      ->capture_default_str();
  worker->add_option("--etcd-prefix", config.etcd_prefix, "etcd: the key prefix")
      ->capture_default_str()
      ->envname("DVS_ETCD_PREFIX");
  worker
      ->add_option("--tls-ca", config.tls_ca_file,
                   "Talk TLS to storage nodes, trusting the CA certificates in this PEM file")
      ->envname("DVS_TLS_CA");
  worker->add_option("--etcd-user", config.etcd_user, "etcd: log in as this user")
      ->envname("DVS_ETCD_USER");
  worker->add_option("--etcd-password", config.etcd_password, "etcd: the user's password")
      ->envname("DVS_ETCD_PASSWORD");
  AddClusterTokenFlags(worker, config.cluster_token, token);
  worker
      ->add_option("--metrics-port", config.metrics_port,
                   "Serve /metrics over HTTP on this port (0: a free one; -1: none)")
      ->envname("DVS_METRICS_PORT")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  worker->add_option("--host", config.host, "Address of the /metrics listener")
      ->envname("DVS_HOST")
      ->capture_default_str();
  worker
      ->add_option("backends", config.backends,
                   "etcd ENDPOINT[,ENDPOINT...] nw ADMIN:PORT,NODE[,NODE...] (ADMIN: a "
                   "loopback address for its admin server, e.g. 127.0.0.1:0)")
      ->required()
      ->expected(4);
}

void AddStorageCommand(CLI::App& dvs, dvs::storage::StorageConfig& config,
                       ClusterTokenFlags& token) {
  CLI::App* storage =
      dvs.add_subcommand("storage", "Run a storage server: blobs in DIR, over gRPC");
  storage->add_option("--host", config.host, "Address to listen on")
      ->envname("DVS_STORAGE_HOST")
      ->capture_default_str();
  storage->add_option("--port", config.port, "Port to listen on (0 picks a free one)")
      ->envname("DVS_STORAGE_PORT")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  AddClusterTokenFlags(storage, config.cluster_token, token);
  AddTlsServerFlags(storage, config.tls_cert_file, config.tls_key_file, "the storage server");
  storage
      ->add_option("--metrics-port", config.metrics_port,
                   "Serve /metrics over HTTP on --host and this port (0: a free one; -1: none)")
      ->envname("DVS_STORAGE_METRICS_PORT")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  storage
      ->add_option("--scrub-mb-per-s", config.scrub_mb_per_s,
                   "Rate (MB/s) at which the scrubber re-reads blobs to find damage; 0 turns "
                   "it off")
      ->envname("DVS_SCRUB_MB_PER_S")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  storage
      ->add_option_function<double>(
          "--scrub-every",
          [&config](double seconds) {
            config.scrub_every = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
          },
          "Seconds from the start of one full scrub pass to the next (default 604800: 7 days)")
      ->envname("DVS_SCRUB_EVERY")
      ->check(CLI::Range(0.001, 1e9));
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
  admin
      ->add_option("--tls-ca", command.tls_ca_file,
                   "Talk TLS to the admin server, trusting the CA certificates in this PEM file")
      ->envname("DVS_TLS_CA");
  flags.timeout = admin->add_option(
      "--timeout", flags.timeout_s,
      "Seconds to wait for the server; 0: no limit (default: 10 for list and status, none for "
      "add, remove and repair)");
}

int RunAdmin(AdminFlags& flags) {
  if (flags.timeout->count() > 0) flags.command.timeout_s = flags.timeout_s;
  return dvs::admin::RunAdminCommand(flags.command);
}

// gRPC reads the bytes of a stream into freshly allocated buffers of up to a
// few MiB, freed once each message is parsed. With glibc's defaults every
// thread gets an arena of its own, whose heaps go back to the kernel as soon
// as they empty, and the next buffer faults in new zeroed pages. A storage
// server receiving a copy took 120-150 page faults per MB (about 7 % of its
// CPU time), and `dvs web` serving segments from storage servers with its
// cache off 78-83 per MB. One arena that keeps up to 64 MiB of freed memory
// reuses the pages: about 35 and 13-35 per MB, and the web server then spent
// 2.8-3.1 s of CPU per GB served instead of 3.1-4.5 s. Called before any
// thread starts.
void KeepFreedBuffers() {
  (void)::mallopt(M_ARENA_MAX, 1);
  (void)::mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App dvs{"dvs: distributed video storage and streaming"};
  dvs.require_subcommand(1);
  dvs::web::WebConfig web_config;
  ClusterTokenFlags web_token;
  AddWebCommand(dvs, web_config, web_token);
  dvs::web::WebConfig worker_config;
  worker_config.cache_mb = 0;
  ClusterTokenFlags worker_token;
  AddWorkerCommand(dvs, worker_config, worker_token);
  dvs::storage::StorageConfig storage_config;
  ClusterTokenFlags storage_token;
  AddStorageCommand(dvs, storage_config, storage_token);
  AdminFlags admin_flags;
  AddAdminCommand(dvs, admin_flags);
  std::string log_format = "text";
  for (const char* name : {"web", "worker", "storage"}) {
    AddLogFormatFlag(dvs.get_subcommand(name), log_format);
  }
  try {
    dvs.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // CLI11 prints the reason (or the help asked for); a malformed command
    // line exits 2 whatever CLI11's own code for it is.
    return dvs.exit(error) == 0 ? 0 : 2;
  }
  // Every subcommand may hold many sockets and files: the soft limit (often
  // 1024) up to the hard one. `dvs web` clamps --max-connections to it.
  if (absl::StatusOr<dvs::common::FileLimit> raised = dvs::common::RaiseFileLimit(); !raised.ok()) {
    std::fprintf(stderr, "dvs: %s\n", std::string(raised.status().message()).c_str());
  }
  dvs::metrics::ConfigureLogging(*dvs::metrics::ParseLogFormat(log_format));
  KeepFreedBuffers();

  if (dvs.got_subcommand("web")) {
    if (!ResolveClusterToken(web_token)) return kExitUsage;
    return dvs::web::RunWebServer(web_config);
  }
  if (dvs.got_subcommand("worker")) {
    if (!ResolveClusterToken(worker_token)) return kExitUsage;
    return dvs::web::RunWorker(worker_config);
  }
  if (dvs.got_subcommand("storage")) {
    if (!ResolveClusterToken(storage_token)) return kExitUsage;
    return dvs::storage::RunStorageServer(storage_config);
  }
  if (dvs.got_subcommand("admin")) return RunAdmin(admin_flags);
  std::fprintf(stderr, "dvs %s: not available in this build\n",
               dvs.get_subcommands().front()->get_name().c_str());
  return kExitUnsupported;
}
