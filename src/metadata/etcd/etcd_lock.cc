#include "metadata/etcd/etcd_lock.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace dvs::metadata {

EtcdLock::EtcdLock(std::shared_ptr<EtcdClient> client, std::string key, std::chrono::seconds ttl)
    : client_(std::move(client)), key_(std::move(key)), ttl_(ttl) {}

absl::StatusOr<std::unique_ptr<EtcdLock::Held>> EtcdLock::TryAcquire(std::string_view description) {
  ASSIGN_OR_RETURN(int64_t lease_id, client_->GrantLease(ttl_));
  absl::StatusOr<EtcdClient::PutIfAbsentResult> put =
      client_->PutIfAbsent(key_, description, lease_id);
  if (!put.ok() || !put->created) {
    // The lease would expire on its own; revoking just tidies up early.
    if (absl::Status revoked = client_->RevokeLease(lease_id); !revoked.ok()) {
      spdlog::warn("etcd lock {}: revoking unused lease {}: {}", key_, lease_id,
                   revoked.ToString());
    }
    if (!put.ok()) return put.status();
    return absl::FailedPreconditionError(
        absl::StrCat("another change is in progress: ", put->existing_value));
  }
  return std::make_unique<Held>(*client_, lease_id, ttl_);
}

EtcdLock::Held::Held(EtcdClient& client, int64_t lease_id, std::chrono::seconds ttl)
    : client_(client), lease_id_(lease_id), renewer_([this, ttl] { RenewUntilReleased(ttl); }) {}

EtcdLock::Held::~Held() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
  }
  wake_.notify_all();
  renewer_.join();
  // Revoking deletes the key with it, and only our key: if the lease already
  // expired and someone else took the lock, their key is untouched.
  if (absl::Status revoked = client_.RevokeLease(lease_id_); !revoked.ok() && !lost()) {
    spdlog::warn("etcd lock: revoking lease {} failed ({}); it expires on its own", lease_id_,
                 revoked.ToString());
  }
}

// Renews three times per TTL, so one failed renewal (a leader election)
// does not lose the lock.
void EtcdLock::Held::RenewUntilReleased(std::chrono::seconds ttl) {
  const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(ttl) / 3;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, interval, [this] { return released_; })) {
    lock.unlock();
    absl::Status renewed = client_.KeepAliveOnce(lease_id_);
    lock.lock();
    if (renewed.code() == absl::StatusCode::kNotFound) {
      spdlog::error("etcd lock: lease {} expired; the lock is lost", lease_id_);
      lost_ = true;
      return;
    }
    if (!renewed.ok())
      spdlog::warn("etcd lock: renewing lease {}: {}", lease_id_, renewed.ToString());
  }
}

}  // namespace dvs::metadata
