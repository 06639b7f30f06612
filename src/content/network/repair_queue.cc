#include "content/network/repair_queue.h"

#include "content/network/replicated_io.h"
#include "spdlog/spdlog.h"

namespace dvs::content {

RepairQueue::RepairQueue(NodePool& pool, StillWanted still_wanted, size_t limit)
    : pool_(pool),
      still_wanted_(std::move(still_wanted)),
      limit_(limit),
      worker_([this] { Run(); }) {}

RepairQueue::~RepairQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (!tasks_.empty()) spdlog::info("dropping {} pending read repairs", tasks_.size());
  }
  changed_.notify_all();
  worker_.join();
}

void RepairQueue::Enqueue(RepairTask task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queued_.contains({task.key, task.bad_node})) return;
    if (tasks_.size() >= limit_) {
      ++dropped_;
      spdlog::warn("read repair queue full; not repairing {} on {} now", task.key, task.bad_node);
      return;
    }
    queued_.insert({task.key, task.bad_node});
    tasks_.push_back(std::move(task));
  }
  changed_.notify_all();
}

RepairQueueStats RepairQueue::stats() const {
  return RepairQueueStats{repaired_.load(), failed_.load(), dropped_.load()};
}

void RepairQueue::WaitIdle() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return stopping_ || (tasks_.empty() && !busy_); });
}

void RepairQueue::Run() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (stopping_) return;
    RepairTask task = std::move(tasks_.front());
    tasks_.pop_front();
    queued_.erase({task.key, task.bad_node});
    busy_ = true;
    lock.unlock();
    RunTask(task);
    lock.lock();
    busy_ = false;
    changed_.notify_all();
  }
}

void RepairQueue::RunTask(const RepairTask& task) {
  if (still_wanted_ && !still_wanted_(task.key, task.bad_node)) return;
  absl::Status copied = CopyBlob(pool_, task.key, {task.good_node}, task.bad_node).status();
  if (copied.ok()) {
    ++repaired_;
    spdlog::info("read repair: copied {} from {} to {}", task.key, task.good_node, task.bad_node);
  } else {
    ++failed_;
    spdlog::warn("read repair of {} on {} failed: {}", task.key, task.bad_node, copied.message());
  }
}

}  // namespace dvs::content
