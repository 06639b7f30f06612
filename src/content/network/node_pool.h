// NodePool: one long-lived StorageClient per storage node address, and a small
// health cache that remembers which nodes recently failed to answer, so reads
// do not wait on a dead node first every time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "storage/storage_client.h"

namespace dvs::content {

// True for the codes that say "the node did not answer" rather than "the node
// answered no": those mark a node down. UNKNOWN is among them: gRPC's core
// reports a connection that broke mid-call (a node killed) as UNKNOWN "Stream
// removed", and storage servers never send it themselves.
bool IsNodeDownError(const absl::Status& status);

// Clients are created on first use and kept for the pool's life (a client
// holds a gRPC channel; making one per call would redial every time), so a
// returned reference stays valid until the pool is destroyed.
//
// Thread-safe. mutex_ guards clients_ and down_until_ms_; the clients
// themselves are thread-safe.
class NodePool {
 public:
  NodePool(storage::StorageClientOptions options, std::function<int64_t()> now_ms,
           std::chrono::milliseconds down_for);
  NodePool(const NodePool&) = delete;
  NodePool& operator=(const NodePool&) = delete;

  storage::StorageClient& Client(const std::string& address);

  // Records what a call to `address` returned: a node-down error marks it
  // down for `down_for`; success marks it up. Other errors change nothing.
  void Report(const std::string& address, const absl::Status& status);
  bool IsDown(const std::string& address);
  // `nodes` with the ones known to be down moved to the end (order otherwise
  // kept): they are tried only when every other node has failed.
  std::vector<std::string> UpFirst(std::vector<std::string> nodes);

 private:
  const storage::StorageClientOptions options_;
  const std::function<int64_t()> now_ms_;
  const std::chrono::milliseconds down_for_;

  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<storage::StorageClient>, std::less<>> clients_;
  std::map<std::string, int64_t, std::less<>> down_until_ms_;
};

// Runs work(i) for i in [0, count) on up to `parallelism` threads and returns
// when all are done. With parallelism 1 (or count 1) it runs on the caller's
// thread.
void ParallelFor(size_t count, size_t parallelism, const std::function<void(size_t)>& work);

}  // namespace dvs::content
