// EtcdClient: the few etcd v3 operations dvs needs, over gRPC, with failover.
//
// It holds one channel per endpoint and sends each call to the current one.
// When that endpoint cannot answer (UNAVAILABLE, DEADLINE_EXCEEDED — which is
// also how etcd reports a lost leader or quorum) it moves on to the next and
// retries, a bounded number of times with a short pause; when every attempt
// failed the result is Unavailable naming the endpoints tried. Every call has
// a deadline, so a cluster without quorum costs a bounded wait, never a hang.
//
// A write retried after an attempt whose answer was lost may have been
// applied by that attempt. Unconditional writes (Put, PutAt) may then apply
// twice, which leaves the same value. Conditional ones find out what
// happened from the key as the retry finds it (see CompareAndPutAt): they
// report "written" when the key is as their write left it, "not written" only
// when the key's state provably predates the call, and Unavailable ("the
// outcome is unknown") otherwise, never a false "not written".
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
    // etcd's user/password auth: when `user` is set, the client logs in
    // (Auth.Authenticate) and sends the token on every call, logging in again
    // once when etcd calls it invalid.
    std::string user;
    std::string password;
    // TLS (when any is set): the CA certificates etcd's certificate chains to
    // (empty: the system's), and a client certificate and key (PEM text,
    // both or neither).
    std::string tls_ca_pem;
    std::string tls_cert_pem;
    std::string tls_key_pem;
  };

  struct Value {
    std::string value;
    int64_t mod_revision = 0;
  };

  struct KeyValue {
    std::string key;
    std::string value;
    int64_t mod_revision = 0;
  };

  struct RangePage {
    std::vector<KeyValue> kvs;
    bool more = false;     // more keys in the range after the last one returned
    int64_t revision = 0;  // the store's revision the page was read at
  };

  struct WriteResult {
    bool written = false;  // false: the compare failed (nothing written)
    // The store's revision after the call; for a write, the key's new mod
    // revision.
    int64_t revision = 0;
  };

  // One change seen by WatchPrefix.
  struct Event {
    enum class Type { kPut, kDelete };
    Type type = Type::kPut;
    std::string key;
    std::string value;         // empty for a delete
    int64_t mod_revision = 0;  // for a delete: the deletion's revision
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
  // Keys in [start, end) in key order, at most `limit` (0: no limit), as of
  // `revision` (0: the newest; the page's `revision` then says which it
  // was, so later pages can ask for the same). OutOfRange when `revision` was
  // compacted (or is in the future).
  [[nodiscard]] absl::StatusOr<RangePage> GetRange(std::string_view start, std::string_view end,
                                                   int64_t limit, int64_t revision = 0);
  // The end of the range of every key with `prefix`: the prefix with its
  // last byte below 0xff increased ("\0", every key, when there is none), as
  // etcd's clientv3 makes it.
  static std::string PrefixEnd(std::string_view prefix);

  [[nodiscard]] absl::Status Put(std::string_view key, std::string_view value);
  // Put, returning the revision it made.
  [[nodiscard]] absl::StatusOr<int64_t> PutAt(std::string_view key, std::string_view value);
  // Atomically creates the key (attached to `lease_id` unless 0) only when it
  // does not exist.
  [[nodiscard]] absl::StatusOr<PutIfAbsentResult> PutIfAbsent(std::string_view key,
                                                              std::string_view value,
                                                              int64_t lease_id = 0);
  // Writes only when the key's mod revision is `expected_mod_revision` (0:
  // only when the key is absent). After a retry (see the top): written when
  // the key holds `value`, not written when the key was last changed at or
  // before the newest revision this client had seen when the call began,
  // otherwise Unavailable "the outcome is unknown".
  [[nodiscard]] absl::StatusOr<WriteResult> CompareAndPutAt(std::string_view key,
                                                            int64_t expected_mod_revision,
                                                            std::string_view value);
  // CompareAndPutAt's `written`.
  [[nodiscard]] absl::StatusOr<bool> CompareAndPut(std::string_view key,
                                                   int64_t expected_mod_revision,
                                                   std::string_view value);
  // Writes only while `lock_key` exists attached to `lease_id` (a fence: the
  // writer still holds the lock that key is). written = false when the lock
  // key is gone or held under another lease. After a retry: as
  // CompareAndPutAt.
  [[nodiscard]] absl::StatusOr<WriteResult> PutIfLeaseHolds(std::string_view key,
                                                            std::string_view value,
                                                            std::string_view lock_key,
                                                            int64_t lease_id);
  // Deletes only when the key's mod revision is `expected_mod_revision`;
  // written = false when it was changed or is absent. After a retry: written
  // when the key is gone, otherwise as CompareAndPutAt.
  [[nodiscard]] absl::StatusOr<WriteResult> CompareAndDelete(std::string_view key,
                                                             int64_t expected_mod_revision);
  // Deletes the key; written = false when it did not exist (after a retry, a
  // key found gone counts as deleted by this call).
  [[nodiscard]] absl::StatusOr<WriteResult> DeleteAt(std::string_view key);
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

  // Drops the history before `revision`: reads at an older revision are then
  // OutOfRange, and watches from one end with on_compacted.
  [[nodiscard]] absl::Status Compact(int64_t revision);

  // etcd's active alarms (Maintenance.Alarm, action GET), such as
  // "NOSPACE on member 8e9e05c52164694d"; empty when none.
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> Alarms();

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

  using EventsCallback = std::function<void(const std::vector<Event>& events)>;
  // Called with the revision etcd compacted to, when the watch cannot go on
  // from where it is.
  using CompactedCallback = std::function<void(int64_t compact_revision)>;
  // Calls `on_events` from a thread of its own with every change to keys
  // with `prefix`, from `start_revision` on (inclusive; 0: from now), in
  // revision order, in batches (the changes of one revision are never split).
  // When the stream breaks it moves to another endpoint and resumes after the
  // last revision delivered, so nothing is missed or delivered twice; while
  // etcd cannot be reached it keeps retrying. When etcd answers that the
  // revision wanted was compacted, it calls `on_compacted` once and stops (the
  // owner reloads and starts a new watch). The client must outlive the watch.
  [[nodiscard]] std::unique_ptr<Watch> WatchPrefix(std::string prefix, int64_t start_revision,
                                                   EventsCallback on_events,
                                                   CompactedCallback on_compacted);

  const std::vector<std::string>& endpoints() const;

 private:
  class Impl;
  class KeyWatch;
  class PrefixWatch;
  class StreamWatch;  // what both watches share
  explicit EtcdClient(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace dvs::metadata
