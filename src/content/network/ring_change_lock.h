// RingChangeLock: lets one ring change (add, remove, repair) run at a time.
// In-process for one web server; with etcd, a lease-backed lock in etcd takes
// the same shape (src/web/backends.cc), so several `dvs web` processes
// sharing a cluster serialize their changes too.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace dvs::content {

// What a fenced ring-state write compares (RingStateStore::StoreFenced): in
// etcd, the lock key and the lease that must still hold it. Empty for an
// in-process lock, where no other process can take the lock.
struct RingChangeFence {
  std::string lock_key;
  int64_t lease_id = 0;
};

// Held while it exists; destroying it releases the lock.
class RingChangeLease {
 public:
  virtual ~RingChangeLease() = default;
  virtual RingChangeFence fence() const { return {}; }
  // True once the lock was lost while held (a lease in etcd lapsed): another
  // process may hold it now, so the change must stop without storing more.
  virtual bool lost() const { return false; }
};

class RingChangeLock {
 public:
  virtual ~RingChangeLock() = default;
  // Never waits: FailedPrecondition naming the change in progress when the
  // lock is held. `change` describes this one ("add 10.0.0.4:8090").
  [[nodiscard]] virtual absl::StatusOr<std::unique_ptr<RingChangeLease>> TryAcquire(
      std::string_view change) = 0;
};

// Thread-safe. mutex_ guards holder_. Must outlive its leases.
class InProcessRingChangeLock final : public RingChangeLock {
 public:
  absl::StatusOr<std::unique_ptr<RingChangeLease>> TryAcquire(std::string_view change) override;

 private:
  class Lease;
  void Release();

  std::mutex mutex_;
  std::optional<std::string> holder_;  // the running change, when one runs
};

}  // namespace dvs::content
