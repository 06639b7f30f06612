#include "admin/progress_relay.h"

#include <utility>

namespace dvs::admin {

void ProgressRelay::Publish(const content::ClusterProgress& progress) {
  {
    std::lock_guard lock(mutex_);
    latest_ = progress;
  }
  changed_.notify_one();
}

void ProgressRelay::Close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  changed_.notify_one();
}

std::optional<content::ClusterProgress> ProgressRelay::Next() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return latest_.has_value() || closed_; });
  return std::exchange(latest_, std::nullopt);
}

}  // namespace dvs::admin
