// FakeClusterAdmin: an in-memory ClusterAdmin for the admin service and CLI
// tests. It keeps a node list, follows ClusterAdmin's error contract, reports
// a few progress updates per change, and can hold a change at a gate so that
// tests can act while it runs. Thread-safe. Test-only.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "content/network/cluster_admin.h"

namespace dvs::admin {

class FakeClusterAdmin : public content::ClusterAdmin {
 public:
  static constexpr int kProgressUpdates = 3;

  explicit FakeClusterAdmin(std::vector<std::string> nodes) : nodes_(std::move(nodes)) {}

  // The count that AddNode and RemoveNode report.
  void SetMigratedCount(uint64_t count) {
    std::lock_guard lock(mutex_);
    migrated_count_ = count;
  }
  void SetLostKeys(std::vector<std::string> keys) {
    std::lock_guard lock(mutex_);
    lost_keys_ = std::move(keys);
  }
  // The next AddNode or RemoveNode fails with `status` before it starts.
  void FailNextChange(absl::Status status) {
    std::lock_guard lock(mutex_);
    next_change_error_ = std::move(status);
  }
  // Changes wait, after their first progress update, until OpenGate().
  void CloseGate() {
    std::lock_guard lock(mutex_);
    gate_open_ = false;
  }
  void OpenGate() {
    {
      std::lock_guard lock(mutex_);
      gate_open_ = true;
    }
    changed_.notify_all();
  }
  // Waits until `count` changes have finished (successfully or not).
  void WaitForFinishedChanges(int count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return finished_changes_ >= count; });
  }
  int calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

  absl::StatusOr<std::vector<std::string>> ListNodes() override {
    std::lock_guard lock(mutex_);
    ++calls_;
    return nodes_;
  }

  absl::StatusOr<uint64_t> AddNode(std::string_view address,
                                   const content::ClusterProgressCallback& progress) override {
    return Change(address, true, progress);
  }

  absl::StatusOr<uint64_t> RemoveNode(std::string_view address,
                                      const content::ClusterProgressCallback& progress) override {
    return Change(address, false, progress);
  }

  absl::StatusOr<content::ClusterStatus> Status() override {
    std::lock_guard lock(mutex_);
    ++calls_;
    content::ClusterStatus status;
    status.ring.epoch = 4;
    status.ring.nodes = nodes_;
    status.ring.vnodes = 128;
    status.ring.replicas = 2;
    for (const std::string& node : nodes_) {
      status.nodes.push_back({.address = node,
                              .healthy = node != "localhost:8091",
                              .error = node != "localhost:8091" ? "" : "connection refused",
                              .node_id = "id-" + node,
                              .bytes_used = 3 << 20,
                              .bytes_free = 5ull << 30,
                              .blob_count = 42});
    }
    return status;
  }

  absl::StatusOr<content::RepairReport> Repair(
      const content::ClusterProgressCallback& progress) override {
    for (int i = 1; i <= kProgressUpdates; ++i) progress({"checking", uint64_t(i), 3, ""});
    std::lock_guard lock(mutex_);
    ++calls_;
    return content::RepairReport{
        .keys_checked = 30, .copies_made = 2, .copies_deleted = 1, .lost_keys = lost_keys_};
  }

 private:
  absl::Status CheckChange(std::string_view address, bool add) {
    bool present = std::find(nodes_.begin(), nodes_.end(), address) != nodes_.end();
    auto node = common::AsAbsl(address);
    if (add && present) {
      return absl::AlreadyExistsError(
          absl::StrCat("storage node ", node, " is already in the ring"));
    }
    if (!add && !present) {
      return absl::NotFoundError(absl::StrCat("storage node ", node, " is not in the ring"));
    }
    if (!add && nodes_.size() == 1)
      return absl::FailedPreconditionError("cannot remove the last node");
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Change(std::string_view address, bool add,
                                  const content::ClusterProgressCallback& progress) {
    std::unique_lock lock(mutex_);
    ++calls_;
    absl::Status allowed = std::exchange(next_change_error_, absl::OkStatus());
    if (allowed.ok()) allowed = CheckChange(address, add);
    if (allowed.ok()) {
      for (int i = 1; i <= kProgressUpdates; ++i) {
        lock.unlock();
        progress({"copying", uint64_t(i), kProgressUpdates, "file " + std::to_string(i)});
        lock.lock();
        changed_.wait(lock, [&] { return gate_open_; });
      }
      if (add) {
        nodes_.emplace_back(address);
        std::sort(nodes_.begin(), nodes_.end());
      } else {
        nodes_.erase(std::find(nodes_.begin(), nodes_.end(), address));
      }
    }
    ++finished_changes_;
    changed_.notify_all();
    if (!allowed.ok()) return allowed;
    return migrated_count_;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  // State below is protected by mutex_.
  std::vector<std::string> nodes_;
  uint64_t migrated_count_ = 7;
  std::vector<std::string> lost_keys_;
  absl::Status next_change_error_;
  bool gate_open_ = true;
  int finished_changes_ = 0;
  int calls_ = 0;
};

}  // namespace dvs::admin
