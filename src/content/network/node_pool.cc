#include "content/network/node_pool.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>

namespace dvs::content {

bool IsNodeDownError(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) || absl::IsUnknown(status);
}

NodePool::NodePool(storage::StorageClientOptions options, std::function<int64_t()> now_ms,
                   std::chrono::milliseconds down_for)
    : options_(options), now_ms_(std::move(now_ms)), down_for_(down_for) {}

storage::StorageClient& NodePool::Client(const std::string& address) {
  std::lock_guard lock(mutex_);
  std::unique_ptr<storage::StorageClient>& client = clients_[address];
  if (client == nullptr) client = std::make_unique<storage::StorageClient>(address, options_);
  return *client;
}

void NodePool::Report(const std::string& address, const absl::Status& status) {
  if (!status.ok() && !IsNodeDownError(status)) return;
  std::lock_guard lock(mutex_);
  if (status.ok()) {
    down_until_ms_.erase(address);
  } else {
    down_until_ms_[address] = now_ms_() + down_for_.count();
  }
}

bool NodePool::IsDown(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = down_until_ms_.find(address);
  return it != down_until_ms_.end() && it->second > now_ms_();
}

std::vector<std::string> NodePool::UpFirst(std::vector<std::string> nodes) {
  std::stable_partition(nodes.begin(), nodes.end(),
                        [this](const std::string& node) { return !IsDown(node); });
  return nodes;
}

void ParallelFor(size_t count, size_t parallelism, const std::function<void(size_t)>& work) {
  size_t threads = std::min(count, std::max<size_t>(parallelism, 1));
  if (threads <= 1) {
    for (size_t i = 0; i < count; ++i) work(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < count; i = next++) work(i);
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();  // the caller's thread takes a share too
  for (std::thread& thread : pool) thread.join();
}

}  // namespace dvs::content
