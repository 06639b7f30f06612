// The `dvs storage` process: a BlobStore on a folder, served over gRPC.
// No gRPC in this header.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace dvs::storage {

struct StorageConfig {
  std::string host = "127.0.0.1";
  int port = 8090;  // 0 picks a free port
  std::filesystem::path dir;
  // Requests handled at once; bounds threads and (at ~1 MiB each) memory.
  int max_threads = 64;
};

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
  // Stops taking calls and waits up to `grace` for those in flight, then
  // cancels them. Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  struct State;
  explicit StorageServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// `dvs storage`: serves until SIGINT or SIGTERM, then shuts down gracefully.
// The process exit code: 0 after a clean shutdown, 1 when it cannot start.
int RunStorageServer(const StorageConfig& config);

}  // namespace dvs::storage
