// The `dvs storage` process: a BlobStore on a folder, served over gRPC.
// No gRPC in this header. Also runs the store's scrubber (scrubber.h).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/blob.h"
#include "storage/scrubber.h"

namespace dvs::storage {

struct StorageConfig {
  std::string host = "127.0.0.1";
  int port = 8090;  // 0 picks a free port
  std::filesystem::path dir;
  // Requests handled at once; bounds threads and (at ~1 MiB each) memory.
  int max_threads = 64;
  // Serve /metrics over HTTP on host:metrics_port (0: a free port; -1: none).
  int metrics_port = -1;
  // Every call must carry `authorization: Bearer <cluster_token>`. Empty:
  // none is asked for, which is allowed on a loopback host only.
  std::string cluster_token;
  // PEM files: TLS when both are set, plaintext when neither is.
  std::string tls_cert_file;
  std::string tls_key_file;
  // The background scrubber (--scrub-mb-per-s, --scrub-every); a rate of 0
  // turns it off.
  double scrub_mb_per_s = 20;
  std::chrono::milliseconds scrub_every{std::chrono::hours(24 * 7)};
};

// InvalidArgument, with the reason, for a configuration the server refuses
// to start with: a port out of range, no folder, a non-loopback host without
// a cluster token, only one of the TLS files.
[[nodiscard]] absl::Status CheckStorageConfig(const StorageConfig& config);

// A running storage server. Start it, read its port, shut it down; tests and
// local clusters run several in one process. Thread-safe.
class StorageServer {
 public:
  // Opens the store in config.dir and listens on config.host:config.port.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<StorageServer>> Start(
      const StorageConfig& config);
  // Shuts down (if not yet) with the default grace.
  ~StorageServer();
  StorageServer(const StorageServer&) = delete;
  StorageServer& operator=(const StorageServer&) = delete;

  int port() const;
  // "host:port" with the real port, as clients dial it.
  const std::string& address() const;
  // The store's usage, as the Info RPC reports it (for metrics).
  [[nodiscard]] absl::StatusOr<NodeInfo> Info() const;
  // Stops taking calls and waits up to `grace` for those in flight, then
  // cancels them. Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // The scrubber's counters (for metrics and tests).
  ScrubStats scrub_stats() const;

 private:
  struct State;
  explicit StorageServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// `dvs storage`: serves until SIGINT or SIGTERM, then shuts down gracefully.
// The process exit code: 0 after a clean shutdown, 2 for a configuration
// CheckStorageConfig refuses, 1 when it cannot start otherwise.
int RunStorageServer(const StorageConfig& config);

}  // namespace dvs::storage
