#include "content/network/ring_change_lock.h"

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace dvs::content {

class InProcessRingChangeLock::Lease final : public RingChangeLease {
 public:
  explicit Lease(InProcessRingChangeLock& lock) : lock_(lock) {}
  ~Lease() override { lock_.Release(); }

 private:
  InProcessRingChangeLock& lock_;
};

absl::StatusOr<std::unique_ptr<RingChangeLease>> InProcessRingChangeLock::TryAcquire(
    std::string_view change) {
  std::lock_guard lock(mutex_);
  if (holder_.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("another ring change is in progress (", *holder_, "); try again later"));
  }
  holder_ = std::string(change);
  return std::unique_ptr<RingChangeLease>(new Lease(*this));
}

void InProcessRingChangeLock::Release() {
  std::lock_guard lock(mutex_);
  holder_.reset();
}

}  // namespace dvs::content
