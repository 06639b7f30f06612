// RepairQueue: read repair in the background. When a read finds a replica
// missing or damaged and another replica serves the key, the good copy is
// streamed node to node into the bad replica (CopyBlob), off the read's path.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "content/network/node_pool.h"

namespace dvs::content {

struct RepairTask {
  std::string key;
  std::string bad_node;
  std::string good_node;
};

struct RepairQueueStats {
  uint64_t repaired = 0;
  uint64_t failed = 0;
  uint64_t dropped = 0;  // queue full
};

// Bounded, so a burst of damage (a wiped disk) cannot grow memory without
// limit: tasks past the limit are dropped and counted; Repair() catches
// those. One worker thread, so repair traffic stays a trickle beside reads.
// A task already queued is not queued twice.
//
// Thread-safe. mutex_ guards tasks_, queued_, busy_ and stopping_.
class RepairQueue {
 public:
  // Asked just before a repair runs: is `node` still meant to hold `key`?
  // (The ring may have changed since the read that found it missing.)
  using StillWanted = std::function<bool(const std::string& key, const std::string& node)>;

  // `pool` must outlive the queue.
  RepairQueue(NodePool& pool, StillWanted still_wanted, size_t limit);
  // Stops the worker after the task in hand; pending tasks are dropped.
  ~RepairQueue();
  RepairQueue(const RepairQueue&) = delete;
  RepairQueue& operator=(const RepairQueue&) = delete;

  void Enqueue(RepairTask task);
  RepairQueueStats stats() const;
  // Blocks until nothing is queued or running (for tests and shutdown).
  void WaitIdle();

 private:
  void Run();
  void RunTask(const RepairTask& task);

  NodePool& pool_;
  const StillWanted still_wanted_;
  const size_t limit_;
  std::atomic<uint64_t> repaired_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> dropped_{0};

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<RepairTask> tasks_;
  std::set<std::pair<std::string, std::string>> queued_;  // (key, bad_node) of tasks_
  bool busy_ = false;
  bool stopping_ = false;
  std::thread worker_;  // last: starts after everything it uses
};

}  // namespace dvs::content
