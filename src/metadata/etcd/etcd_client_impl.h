// Inside EtcdClient: the channels to the endpoints and the failover loop
// every call goes through. Shared by etcd_client.cc (the calls) and
// etcd_watch.cc (the watches); nothing else includes it.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "metadata/etcd/etcd_client.h"
#include "proto/etcd/rpc.grpc.pb.h"

namespace dvs::metadata {

namespace pb = ::etcdserverpb;

class EtcdClient::Impl {
 public:
  struct Stubs {
    std::unique_ptr<pb::KV::Stub> kv;
    std::unique_ptr<pb::Lease::Stub> lease;
    std::unique_ptr<pb::Watch::Stub> watch;
    std::unique_ptr<pb::Maintenance::Stub> maintenance;
    std::unique_ptr<pb::Auth::Stub> auth;
  };
  // One attempt on one endpoint: fills its response, returns gRPC's status.
  using Attempt = std::function<grpc::Status(Stubs&, grpc::ClientContext*)>;

  Impl(std::vector<std::string> endpoints, Options options);

  // Runs `attempt` on the current endpoint, moving to the next one while
  // they cannot answer. `attempts_made` (if given) tells the caller whether an
  // earlier attempt may have been applied although its answer was lost.
  absl::Status Call(std::string_view what, const Attempt& attempt, int* attempts_made = nullptr);

  // Call for one KV method (`&pb::KV::Stub::Range`, ...); remembers the
  // revision of its answer.
  template <typename Request, typename Response>
  absl::Status CallKv(std::string_view what,
                      grpc::Status (pb::KV::Stub::*method)(grpc::ClientContext*, const Request&,
                                                           Response*),
                      const Request& request, Response* response, int* attempts_made = nullptr) {
    RETURN_IF_ERROR(Call(
        what,
        [&](Stubs& stubs, grpc::ClientContext* context) {
          return (stubs.kv.get()->*method)(context, request, response);
        },
        attempts_made));
    Saw(response->header().revision());
    return absl::OkStatus();
  }

  // With etcd's user/password auth (Options::user set): adds the token of
  // the user's session to `context`, logging in on endpoint `index` first
  // when there is none yet. A refused login is UNAUTHENTICATED with etcd's
  // reason; the rest as the login call failed. Without a user: OK, nothing.
  grpc::Status Authorize(size_t index, grpc::ClientContext& context);
  // After a call failed with `status`: when etcd rejected its token (expired,
  // or lost by a restarted member), forgets it so that the next Authorize
  // logs in again, and returns true.
  bool ForgetRejectedToken(const grpc::Status& status);

  // The newest store revision any answer has shown: every write sent after
  // it was read gets a greater revision.
  int64_t newest_revision() const { return newest_revision_.load(); }
  void Saw(int64_t revision) {
    int64_t known = newest_revision_.load();
    while (known < revision && !newest_revision_.compare_exchange_weak(known, revision)) {
    }
  }

  // The endpoint calls go to now, and its stubs.
  size_t current() const { return current_.load(); }
  Stubs& stubs(size_t index) { return stubs_[index]; }
  // After `failed` could not answer. Only the thread that saw an endpoint
  // fail moves everyone on, so concurrent failures do not skip a healthy one.
  void MoveOn(size_t failed) {
    current_.compare_exchange_strong(failed, (failed + 1) % endpoints_.size());
  }

  const std::vector<std::string> endpoints_;

 private:
  const Options options_;
  std::vector<Stubs> stubs_;
  std::atomic<size_t> current_{0};
  std::atomic<int64_t> newest_revision_{0};
  std::mutex token_mutex_;
  std::string token_;  // GUARDED_BY(token_mutex_); empty: not logged in
};

}  // namespace dvs::metadata
