#include "media/job_queue.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "spdlog/spdlog.h"

namespace dvs::media {

struct JobQueue::Entry {
  std::string id;
  Job job;
  std::atomic<bool> cancel{false};
  bool running = false;  // GUARDED_BY(JobQueue::mutex_)
};

JobQueue::JobQueue(int workers) {
  for (int i = 0; i < std::max(1, workers); ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

JobQueue::~JobQueue() { Shutdown(); }

bool JobQueue::Submit(const std::string& id, Job job) {
  std::lock_guard lock(mutex_);
  if (shutting_down_ || jobs_.contains(id)) return false;
  auto entry = std::make_shared<Entry>();
  entry->id = id;
  entry->job = std::move(job);
  jobs_.emplace(id, entry);
  queue_.push_back(std::move(entry));
  changed_.notify_all();
  return true;
}

// Must not be called from inside the job being cancelled: it would wait for
// itself.
void JobQueue::Cancel(const std::string& id) {
  std::unique_lock lock(mutex_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  std::shared_ptr<Entry> entry = it->second;
  entry->cancel = true;
  if (!entry->running) {
    std::erase(queue_, entry);
    jobs_.erase(it);
    changed_.notify_all();
    return;
  }
  // The same id may be submitted again once this run ends; wait for this one.
  changed_.wait(lock, [&] {
    auto current = jobs_.find(id);
    return current == jobs_.end() || current->second != entry;
  });
}

void JobQueue::Shutdown() {
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    for (auto& [id, entry] : jobs_) entry->cancel = true;
    for (const std::shared_ptr<Entry>& entry : queue_) jobs_.erase(entry->id);
    queue_.clear();
    workers.swap(workers_);
    changed_.notify_all();
  }
  for (std::thread& worker : workers) worker.join();
}

size_t JobQueue::size() const {
  std::lock_guard lock(mutex_);
  return jobs_.size();
}

void JobQueue::WorkerLoop() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return shutting_down_ || !queue_.empty(); });
    if (queue_.empty()) return;  // shutting down with nothing left
    std::shared_ptr<Entry> entry = std::move(queue_.front());
    queue_.pop_front();
    entry->running = true;
    lock.unlock();
    // A throwing job must not take the worker (and the process) down with it.
    try {
      entry->job(entry->cancel);
    } catch (const std::exception& e) {
      spdlog::error("background job {} failed: {}", entry->id, e.what());
    } catch (...) {
      spdlog::error("background job {} failed with a non-standard exception", entry->id);
    }
    lock.lock();
    entry->running = false;
    if (auto it = jobs_.find(entry->id); it != jobs_.end() && it->second == entry) jobs_.erase(it);
    changed_.notify_all();
  }
}

}  // namespace dvs::media
