// `dvs web`: builds the chosen metadata and content backends, the job queue,
// the app and the HTTP server, and serves until SIGINT/SIGTERM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dvs::web {

struct WebConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  // The reference's positional form: METADATA_TYPE METADATA_OPTIONS CONTENT_TYPE CONTENT_OPTIONS.
  std::vector<std::string> backends = {"sqlite", "./data/metadata.db", "fs", "./data/content"};
  // etcd: the keys live under this prefix.
  std::string etcd_prefix = "/dvs/";
  std::filesystem::path work_dir = "./data/work";
  std::filesystem::path static_dir;  // empty: static/ beside the executable
  uint64_t upload_limit_bytes = 8ull << 30;
  int upload_expiry_s = 86400;    // an unfinished tus upload, after its last chunk
  int transcode_jobs = 1;         // --jobs; 0: transcode nothing (workers do)
  int max_queued = 1000;          // videos waiting to be processed; more uploads get 429
  int retry_for_s = 3600;         // how long a retryable error is retried
  int keep_failed_s = 7 * 86400;  // how long a failed video's source is kept for a retry
  int transcode_timeout_s = 600;  // the floor of an ffmpeg run's time limit
  double timeout_factor = 10;     // an ffmpeg run's time limit: this times the duration
  int http_workers = 8;
  int max_uploads = 16;        // received at once; more get 429
  int read_timeout_s = 30;     // each read of a request's header or body
  int idle_timeout_s = 60;     // a keep-alive connection between requests
  int max_connections = 4096;  // more get 503 (clamped to the open-file limit)
  // Uploads: KiB/s averaged over each window, and a total deadline; a slower
  // or longer upload is dropped (408). Free space kept on the work folder.
  int upload_min_rate_kib = 4;
  int upload_rate_window_s = 60;
  int upload_deadline_s = 6 * 3600;
  int min_free_mb = 256;
  int cache_mb = 256;  // hot files kept in memory (0: none)
  // s3 mode: files of public videos from this size up answered with a 307
  // to a presigned URL of the store, valid for s3_redirect_expiry_s.
  bool s3_redirect = false;
  int s3_redirect_min_kb = 256;
  int s3_redirect_expiry_s = 900;
  // nw mode: the ring a first start seeds, and the admin server's policy.
  int replicas = 3;
  int vnodes = 128;
  // nw mode: copies and deletes a ring change or repair runs at once.
  size_t copy_parallelism = 4;
  // nw mode, upkeep (content::ContentJanitor): how often pending deletes are
  // retried and the nodes asked for damaged blobs; how often garbage is
  // collected (0: only by `dvs admin repair`) and after how long a folder
  // no record references is garbage.
  double upkeep_every_s = 30;
  double gc_every_s = 3600;
  double gc_grace_s = 86400;
  std::string admin_token;
  bool admin_allow_remote = false;
  // Access (DESIGN §7a): where users reach the server (its host is accepted
  // in Host headers; https makes the session cookie Secure), open uploads
  // for a trusted LAN, and the first admin's password file.
  std::string public_url;
  bool anonymous_uploads = false;
  std::string admin_password_file;
  // Observability: one log line per request (--access-log), /metrics for
  // anyone beyond loopback (--metrics-allow-remote; else admins only), and
  // for `dvs worker` a /metrics listener of its own (--metrics-port; -1: none).
  bool access_log = false;
  bool metrics_allow_remote = false;
  int metrics_port = -1;
  // nw mode, the cluster plane: the token sent to storage nodes, the CA file
  // their TLS certificates chain to (empty: plaintext), and the admin
  // server's TLS certificate and key (empty: plaintext).
  std::string cluster_token;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  // etcd: user/password auth (empty user: none) and TLS (PEM files; any
  // set: TLS).
  std::string etcd_user;
  std::string etcd_password;
  std::string etcd_ca_file;
  std::string etcd_cert_file;
  std::string etcd_key_file;
};

// The process exit code: 0 after a clean shutdown, 1 on a start-up error
// (a backend cannot open or cannot be reached), 2 for a malformed
// configuration.
int RunWebServer(const WebConfig& config);

}  // namespace dvs::web
