// A bounded pool of background jobs keyed by video id: at most `workers` run
// at once, the rest wait in order. A job can be cancelled by id (its cancel
// flag is raised; a queued job is dropped). Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dvs::media {

class JobQueue {
 public:
  using Job = std::function<void(const std::atomic<bool>& cancel)>;

  explicit JobQueue(int workers);
  ~JobQueue();  // Shutdown()
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  // Queues a job; false when a job with that id is already queued or running,
  // or the queue is shut down.
  bool Submit(const std::string& id, Job job);
  // Raises the cancel flag of the job with that id (or drops it if queued).
  // Returns once it is no longer running.
  void Cancel(const std::string& id);
  // Cancels every job and joins the workers. Idempotent.
  void Shutdown();
  // Jobs queued or running.
  size_t size() const;

 private:
  struct Entry;
  void WorkerLoop();

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::shared_ptr<Entry>> queue_;  // GUARDED_BY(mutex_)
  std::map<std::string, std::shared_ptr<Entry>> jobs_;  // GUARDED_BY(mutex_): queued + running
  bool shutting_down_ = false;  // GUARDED_BY(mutex_)
  std::vector<std::thread> workers_;
};

}  // namespace dvs::media
