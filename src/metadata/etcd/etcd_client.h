// EtcdClient: the few etcd v3 operations dvs needs, over gRPC, with failover.
//
// It holds one channel per endpoint and sends each call to the current one.
// When that endpoint cannot answer (UNAVAILABLE, DEADLINE_EXCEEDED — which is
// also how etcd reports a lost leader or quorum) it moves on to the next and
// retries, a bounded number of times with a short pause; when every attempt
// failed the result is Unavailable naming the endpoints tried. Every call has
// a deadline, so a cluster without quorum costs a bounded wait, never a hang.
//
// Thread-safe: one client may serve any number of threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::metadata {

class EtcdClient {
 public:
  struct Options {
    // Per attempt. etcd answers in milliseconds when healthy; without quorum
    // it waits for its own request timeout (~5 s), which we cut short.
    std::chrono::milliseconds call_timeout{2000};
    // Total attempts per call across endpoints; 0 means two per endpoint.
    int max_attempts = 0;
    std::chrono::milliseconds retry_backoff{50};
  };

  struct Value {
    std::string value;
    int64_t mod_revision = 0;
  };

  struct KeyValue {
    std::string key;
    std::string value;
  };

  struct PutIfAbsentResult {
    bool created = false;
    // The value already there when !created (e.g. who holds a lock).
    std::string existing_value;
  };

  // endpoints: "host:port" (an "http://" prefix is accepted and dropped).
  // InvalidArgument when there are none.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<EtcdClient>> Create(
      std::vector<std::string> endpoints, Options options);
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<EtcdClient>> Create(
      std::vector<std::string> endpoints) {
    return Create(std::move(endpoints), Options());
  }
  ~EtcdClient();

  // nullopt when the key does not exist.
  [[nodiscard]] absl::StatusOr<std::optional<Value>> Get(std::string_view key);
  // Every key starting with `prefix`, in key order.
  [[nodiscard]] absl::StatusOr<std::vector<KeyValue>> GetPrefix(std::string_view prefix);
  [[nodiscard]] absl::Status Put(std::string_view key, std::string_view value);
  // Atomically creates the key (attached to `lease_id` unless 0) only when it
  // does not exist.
  [[nodiscard]] absl::StatusOr<PutIfAbsentResult> PutIfAbsent(std::string_view key,
                                                              std::string_view value,
                                                              int64_t lease_id = 0);
  // Writes only when the key still has `expected_mod_revision` (so it was
  // neither changed nor deleted since it was read); false otherwise.
  [[nodiscard]] absl::StatusOr<bool> CompareAndPut(std::string_view key,
                                                   int64_t expected_mod_revision,
                                                   std::string_view value);
  // How many keys were deleted (0 or 1).
  [[nodiscard]] absl::StatusOr<int64_t> Delete(std::string_view key);

  // A lease that expires `ttl` after its last keep-alive; returns its id.
  [[nodiscard]] absl::StatusOr<int64_t> GrantLease(std::chrono::seconds ttl);
  // Renews the lease; NotFound when it has already expired or was revoked.
  [[nodiscard]] absl::Status KeepAliveOnce(int64_t lease_id);
  // Ends the lease and deletes every key attached to it.
  [[nodiscard]] absl::Status RevokeLease(int64_t lease_id);
  [[nodiscard]] absl::Status PutWithLease(std::string_view key, std::string_view value,
                                          int64_t lease_id);

  // Stops its watch when destroyed (after a callback in progress returns).
  class Watch {
   public:
    virtual ~Watch() = default;
  };
  // The key's value, or nullopt once it is deleted.
  using WatchCallback = std::function<void(const std::optional<std::string>& value)>;
  // Calls `on_change` from a thread of its own: first with the key's value
  // now, then after every change, in order. When the stream breaks (the
  // member died or lost its leader) it moves to another endpoint and resumes
  // after the last revision seen, so no change is missed; while etcd cannot
  // be reached it keeps retrying. A value may be delivered again after a
  // reconnect, so the callback must be idempotent. The client must outlive
  // the watch.
  [[nodiscard]] std::unique_ptr<Watch> WatchKey(std::string key, WatchCallback on_change);

  const std::vector<std::string>& endpoints() const;

 private:
  class Impl;
  class KeyWatch;
  explicit EtcdClient(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace dvs::metadata
