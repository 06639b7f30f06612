// EtcdLock: a cluster-wide, never-waiting mutex on one etcd key, for work
// that only one process of a cluster may do at a time (ring changes).
//
// Taking it creates the key, holding a description of the holder's work,
// attached to a fresh lease (only if the key is absent: an etcd Txn). A thread
// renews the lease while the lock is held; releasing revokes the lease, which
// deletes the key. A holder that crashes or is cut off stops renewing, so its
// lock frees itself within the TTL. The wiring layer adapts this to
// content::RingChangeLock (metadata may not depend on content).
//
// Thread-safe. The client must outlive the lock and its holders.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"
#include "metadata/etcd/etcd_client.h"

namespace dvs::metadata {

class EtcdLock {
 public:
  static constexpr std::chrono::seconds kDefaultTtl{10};

  // Holds the lock while it exists; destroying it releases the lock.
  class Held {
   public:
    Held(EtcdClient& client, int64_t lease_id, std::chrono::seconds ttl);
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    ~Held();

    // True once a renewal found the lease gone: another process may now hold
    // the lock, so the work it guards should stop.
    bool lost() const { return lost_.load(); }
    int64_t lease_id() const { return lease_id_; }

   private:
    void RenewUntilReleased(std::chrono::seconds ttl);

    EtcdClient& client_;
    const int64_t lease_id_;
    std::atomic<bool> lost_ = false;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool released_ = false;  // GUARDED_BY(mutex_)
    std::thread renewer_;    // last: starts after the fields it reads
  };

  EtcdLock(std::shared_ptr<EtcdClient> client, std::string key,
           std::chrono::seconds ttl = kDefaultTtl);

  // The key that is the lock: a holder's fenced writes compare it with their
  // lease (EtcdClient::PutIfLeaseHolds).
  const std::string& key() const { return key_; }

  // Never waits: FailedPrecondition naming the holder's description when the
  // lock is held; Unavailable when etcd cannot be reached.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<Held>> TryAcquire(std::string_view description);

 private:
  const std::shared_ptr<EtcdClient> client_;
  const std::string key_;
  const std::chrono::seconds ttl_;
};

}  // namespace dvs::metadata
