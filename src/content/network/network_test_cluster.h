// Test helpers for the network content service: real storage servers in this
// process on 127.0.0.1 port 0, each on its own temp folder, and an in-memory
// RingStateStore. Test-only; not part of any library.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "content/network/cluster_admin.h"
#include "content/network/network_content_service.h"
#include "storage/storage_client.h"
#include "storage/storage_server.h"

namespace dvs::content::testing {

namespace fs = std::filesystem;

class MemoryRingStateStore final : public RingStateStore {
 public:
  absl::StatusOr<std::optional<std::string>> Load() override {
    std::lock_guard lock(mutex_);
    return value_;
  }
  absl::Status Store(std::string_view state) override {
    std::lock_guard lock(mutex_);
    value_ = std::string(state);
    return absl::OkStatus();
  }
  RingState state() {
    std::lock_guard lock(mutex_);
    absl::StatusOr<RingState> state = RingState::FromJson(value_.value_or(""));
    EXPECT_TRUE(state.ok()) << state.status();
    return state.value_or(RingState{});
  }

 private:
  std::mutex mutex_;
  std::optional<std::string> value_;
};

// Storage servers started and stopped on demand. Not thread-safe.
class TestCluster {
 public:
  TestCluster() {
    root_ = fs::path(::testing::TempDir()) /
            ("dvs-net-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  ~TestCluster() {
    clients_.clear();
    servers_.clear();
    fs::remove_all(root_);
  }

  // Starts a node and returns its address.
  std::string StartNode() {
    fs::path dir = root_ / ("node" + std::to_string(next_++));
    auto server = storage::StorageServer::Start(
        {.host = "127.0.0.1", .port = 0, .dir = dir, .max_threads = 16});
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return "";
    std::string address = (*server)->address();
    dirs_[address] = dir;
    servers_[address] = std::move(*server);
    return address;
  }
  std::vector<std::string> StartNodes(int count) {
    std::vector<std::string> addresses;
    for (int i = 0; i < count; ++i) addresses.push_back(StartNode());
    std::sort(addresses.begin(), addresses.end());
    return addresses;
  }
  void StopNode(const std::string& address) {
    servers_.at(address)->Shutdown(std::chrono::milliseconds(0));
  }
  // An address where nothing listens (a node started, then stopped).
  std::string DeadAddress() {
    std::string address = StartNode();
    StopNode(address);
    return address;
  }

  fs::path BlobPath(const std::string& address, const std::string& video_id,
                    const std::string& filename) {
    return dirs_.at(address) / "blobs" / video_id / filename;
  }
  storage::StorageClient& Client(const std::string& address) {
    auto& client = clients_[address];
    if (client == nullptr) client = std::make_unique<storage::StorageClient>(address);
    return *client;
  }
  // The keys a node holds, sorted.
  std::vector<std::string> KeysOn(const std::string& address) {
    auto blobs = Client(address).List();
    EXPECT_TRUE(blobs.ok()) << blobs.status();
    std::vector<std::string> keys;
    for (const auto& blob : blobs.value_or(std::vector<storage::BlobInfo>{}))
      keys.push_back(blob.key);
    return keys;
  }

 private:
  fs::path root_;
  int next_ = 0;
  std::map<std::string, fs::path> dirs_;
  std::map<std::string, std::unique_ptr<storage::StorageServer>> servers_;
  std::map<std::string, std::unique_ptr<storage::StorageClient>> clients_;
};

// Short timeouts so a dead node costs milliseconds, not seconds.
inline NetworkContentOptions FastOptions(std::vector<std::string> seeds, int replicas = 3) {
  NetworkContentOptions options;
  options.seed_nodes = std::move(seeds);
  options.vnodes = 32;
  options.replicas = replicas;
  options.client.call_timeout = std::chrono::seconds(3);
  options.client.stream_timeout = std::chrono::seconds(10);
  options.client.max_reconnect_backoff = std::chrono::milliseconds(200);
  options.down_for = std::chrono::milliseconds(500);
  return options;
}

inline bool Eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

inline absl::StatusOr<std::string> ReadAll(VideoContentService& service, std::string_view video_id,
                                           std::string_view filename,
                                           std::optional<ByteRange> range = std::nullopt) {
  auto reader = service.Read(video_id, filename, range);
  if (!reader.ok()) return reader.status();
  std::string bytes;
  char buffer[64 * 1024];
  while (true) {
    absl::StatusOr<size_t> got = (*reader)->Read(buffer, sizeof buffer);
    if (!got.ok()) return got.status();
    if (*got == 0) break;
    bytes.append(buffer, *got);
  }
  if (bytes.size() != (*reader)->size()) return absl::InternalError("reader size mismatch");
  return bytes;
}

inline std::string TestBytes(size_t size, uint32_t seed) {
  std::string bytes(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : bytes) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return bytes;
}

// The nodes each key of `keys` should be on under `state`'s committed ring.
inline std::map<std::string, std::vector<std::string>> ExpectedHoldings(
    const RingState& state, const std::vector<std::string>& keys) {
  auto ring = HashRing::Create(state.nodes, state.vnodes, state.replicas);
  EXPECT_TRUE(ring.ok()) << ring.status();
  std::map<std::string, std::vector<std::string>> by_node;
  for (const std::string& node : state.nodes) by_node[node];
  for (const std::string& key : keys) {
    for (const std::string& node : ring->ReplicaSetFor(key)) by_node[node].push_back(key);
  }
  for (auto& [node, node_keys] : by_node) std::sort(node_keys.begin(), node_keys.end());
  return by_node;
}

}  // namespace dvs::content::testing
