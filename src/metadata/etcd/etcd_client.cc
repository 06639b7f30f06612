#include "metadata/etcd/etcd_client.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "proto/etcd/rpc.grpc.pb.h"
#include "spdlog/spdlog.h"

namespace dvs::metadata {
namespace {

namespace pb = ::etcdserverpb;

// gRPC's default reconnect backoff grows to two minutes: a member that comes
// back would be ignored for that long. Etcd members restart in seconds.
constexpr int kMinReconnectBackoffMs = 100;
constexpr int kMaxReconnectBackoffMs = 1000;

// Codes that say this member could not answer, which another member may cure:
// UNAVAILABLE (the endpoint is down, or etcd has no leader: "etcdserver: no
// leader", "leader changed"); DEADLINE_EXCEEDED (no answer in time, which is
// what a member without quorum gives); UNKNOWN and INTERNAL (gRPC's core
// reports a connection that broke mid-call as UNKNOWN "Stream removed" or as
// a reset stream, and etcd sends UNKNOWN for a server error it has no code
// for). The rest are etcd's answer to the request itself.
bool IsRetryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
      return true;
    default:
      return false;
  }
}

std::string StripScheme(std::string endpoint) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (endpoint.starts_with(scheme)) return endpoint.substr(scheme.size());
  }
  return endpoint;
}

// The smallest key greater than every key starting with `prefix`.
std::string PrefixRangeEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return std::string(1, '\0');  // etcd: every key
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

pb::Compare KeyIsAbsent(std::string_view key) {
  pb::Compare compare;
  compare.set_key(std::string(key));
  compare.set_target(pb::Compare::VERSION);
  compare.set_result(pb::Compare::EQUAL);
  compare.set_version(0);
  return compare;
}

}  // namespace

class EtcdClient::Impl {
 public:
  struct Stubs {
    std::unique_ptr<pb::KV::Stub> kv;
    std::unique_ptr<pb::Lease::Stub> lease;
    std::unique_ptr<pb::Watch::Stub> watch;
  };
  // One attempt on one endpoint: fills its response, returns gRPC's status.
  using Attempt = std::function<grpc::Status(Stubs&, grpc::ClientContext*)>;

  Impl(std::vector<std::string> endpoints, Options options)
      : endpoints_(std::move(endpoints)), options_(options) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, kMinReconnectBackoffMs);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kMinReconnectBackoffMs);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
    for (const std::string& endpoint : endpoints_) {
      std::shared_ptr<grpc::Channel> channel =
          grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
      stubs_.push_back(
          {pb::KV::NewStub(channel), pb::Lease::NewStub(channel), pb::Watch::NewStub(channel)});
    }
  }

  // Runs `attempt` on the current endpoint, moving to the next one while
  // they cannot answer. `attempts_made` (if given) tells the caller whether an
  // earlier attempt may have been applied although its answer was lost.
  absl::Status Call(std::string_view what, const Attempt& attempt, int* attempts_made = nullptr) {
    const int max_attempts =
        options_.max_attempts > 0 ? options_.max_attempts : 2 * static_cast<int>(endpoints_.size());
    std::string last_error;
    for (int i = 0; i < max_attempts; ++i) {
      if (attempts_made != nullptr) *attempts_made = i + 1;
      size_t index = current_.load();
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
      grpc::Status status = attempt(stubs_[index], &context);
      if (status.ok()) return absl::OkStatus();
      if (!IsRetryable(status.error_code())) {
        absl::Status error = common::FromGrpcStatus(status);
        return absl::Status(error.code(),
                            absl::StrCat("etcd ", common::AsAbsl(what), ": ", error.message()));
      }
      last_error = absl::StrCat(endpoints_[index], ": ", status.error_message());
      MoveOn(index);
      if (i + 1 < max_attempts) std::this_thread::sleep_for(options_.retry_backoff);
    }
    return absl::UnavailableError(absl::StrCat(
        "etcd has no quorum or cannot be reached (tried ", absl::StrJoin(endpoints_, ", "),
        "): ", common::AsAbsl(what), " failed, last from ", last_error));
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
};

absl::StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::Create(std::vector<std::string> endpoints,
                                                               Options options) {
  if (endpoints.empty()) return absl::InvalidArgumentError("etcd: no endpoints given");
  for (std::string& endpoint : endpoints) {
    endpoint = StripScheme(std::move(endpoint));
    if (endpoint.empty()) return absl::InvalidArgumentError("etcd: empty endpoint");
  }
  return std::unique_ptr<EtcdClient>(
      new EtcdClient(std::make_unique<Impl>(std::move(endpoints), options)));
}

EtcdClient::EtcdClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EtcdClient::~EtcdClient() = default;

const std::vector<std::string>& EtcdClient::endpoints() const { return impl_->endpoints_; }

absl::StatusOr<std::optional<EtcdClient::Value>> EtcdClient::Get(std::string_view key) {
  pb::RangeRequest request;
  request.set_key(std::string(key));
  pb::RangeResponse response;
  RETURN_IF_ERROR(impl_->Call("get", [&](Impl::Stubs& stubs, grpc::ClientContext* context) {
    return stubs.kv->Range(context, request, &response);
  }));
  if (response.kvs_size() == 0) return std::optional<Value>();
  const mvccpb::KeyValue& kv = response.kvs(0);
  return std::optional<Value>(Value{kv.value(), kv.mod_revision()});
}

absl::StatusOr<std::vector<EtcdClient::KeyValue>> EtcdClient::GetPrefix(std::string_view prefix) {
  pb::RangeRequest request;
  request.set_key(std::string(prefix));
  request.set_range_end(PrefixRangeEnd(prefix));
  pb::RangeResponse response;
  RETURN_IF_ERROR(impl_->Call("get prefix", [&](Impl::Stubs& stubs, grpc::ClientContext* context) {
    return stubs.kv->Range(context, request, &response);
  }));
  std::vector<KeyValue> result;
  result.reserve(response.kvs_size());
  for (const mvccpb::KeyValue& kv : response.kvs()) result.push_back({kv.key(), kv.value()});
  return result;
}

absl::Status EtcdClient::Put(std::string_view key, std::string_view value) {
  return PutWithLease(key, value, 0);
}

absl::Status EtcdClient::PutWithLease(std::string_view key, std::string_view value,
                                      int64_t lease_id) {
  pb::PutRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  request.set_lease(lease_id);
  pb::PutResponse response;
  return impl_->Call("put", [&](Impl::Stubs& stubs, grpc::ClientContext* context) {
    return stubs.kv->Put(context, request, &response);
  });
}

// A retried Txn may find its own earlier, applied-but-unanswered write: the
// compare then fails, but the key holds exactly our value. Only after a retry
// is that taken as our success, so two first-try writers never both win.
absl::StatusOr<EtcdClient::PutIfAbsentResult> EtcdClient::PutIfAbsent(std::string_view key,
                                                                      std::string_view value,
                                                                      int64_t lease_id) {
  pb::TxnRequest request;
  *request.add_compare() = KeyIsAbsent(key);
  pb::PutRequest* put = request.add_success()->mutable_request_put();
  put->set_key(std::string(key));
  put->set_value(std::string(value));
  put->set_lease(lease_id);
  request.add_failure()->mutable_request_range()->set_key(std::string(key));
  pb::TxnResponse response;
  int attempts = 0;
  RETURN_IF_ERROR(impl_->Call(
      "put if absent",
      [&](Impl::Stubs& stubs, grpc::ClientContext* context) {
        return stubs.kv->Txn(context, request, &response);
      },
      &attempts));
  PutIfAbsentResult result{.created = response.succeeded()};
  if (!result.created && response.responses_size() == 1 &&
      response.responses(0).response_range().kvs_size() == 1) {
    const mvccpb::KeyValue& existing = response.responses(0).response_range().kvs(0);
    result.existing_value = existing.value();
    if (attempts > 1 && existing.value() == value && existing.lease() == lease_id) {
      result.created = true;
    }
  }
  return result;
}

absl::StatusOr<bool> EtcdClient::CompareAndPut(std::string_view key, int64_t expected_mod_revision,
                                               std::string_view value) {
  pb::TxnRequest request;
  pb::Compare* compare = request.add_compare();
  compare->set_key(std::string(key));
  compare->set_target(pb::Compare::MOD);
  compare->set_result(pb::Compare::EQUAL);
  compare->set_mod_revision(expected_mod_revision);
  pb::PutRequest* put = request.add_success()->mutable_request_put();
  put->set_key(std::string(key));
  put->set_value(std::string(value));
  request.add_failure()->mutable_request_range()->set_key(std::string(key));
  pb::TxnResponse response;
  int attempts = 0;
  RETURN_IF_ERROR(impl_->Call(
      "compare and put",
      [&](Impl::Stubs& stubs, grpc::ClientContext* context) {
        return stubs.kv->Txn(context, request, &response);
      },
      &attempts));
  if (response.succeeded()) return true;
  // As in PutIfAbsent: a retry may meet its own earlier write.
  return attempts > 1 && response.responses_size() == 1 &&
         response.responses(0).response_range().kvs_size() == 1 &&
         response.responses(0).response_range().kvs(0).value() == value;
}

absl::StatusOr<int64_t> EtcdClient::Delete(std::string_view key) {
  pb::DeleteRangeRequest request;
  request.set_key(std::string(key));
  pb::DeleteRangeResponse response;
  RETURN_IF_ERROR(impl_->Call("delete", [&](Impl::Stubs& stubs, grpc::ClientContext* context) {
    return stubs.kv->DeleteRange(context, request, &response);
  }));
  return response.deleted();
}

absl::StatusOr<int64_t> EtcdClient::GrantLease(std::chrono::seconds ttl) {
  pb::LeaseGrantRequest request;
  request.set_ttl(ttl.count());
  pb::LeaseGrantResponse response;
  RETURN_IF_ERROR(impl_->Call("grant lease", [&](Impl::Stubs& stubs, grpc::ClientContext* context) {
    return stubs.lease->LeaseGrant(context, request, &response);
  }));
  if (!response.error().empty()) {
    return absl::FailedPreconditionError(absl::StrCat("etcd grant lease: ", response.error()));
  }
  return response.id();
}

// LeaseKeepAlive is a stream; one request and one answer renew the lease once.
absl::Status EtcdClient::KeepAliveOnce(int64_t lease_id) {
  pb::LeaseKeepAliveRequest request;
  request.set_id(lease_id);
  pb::LeaseKeepAliveResponse response;
  RETURN_IF_ERROR(
      impl_->Call("keep lease alive", [&](Impl::Stubs& stubs, grpc::ClientContext* context) {
        auto stream = stubs.lease->LeaseKeepAlive(context);
        if (!stream->Write(request) || !stream->Read(&response)) return stream->Finish();
        stream->WritesDone();
        return stream->Finish();
      }));
  if (response.ttl() <= 0) {
    return absl::NotFoundError(absl::StrCat("etcd lease ", lease_id, " has expired"));
  }
  return absl::OkStatus();
}

absl::Status EtcdClient::RevokeLease(int64_t lease_id) {
  pb::LeaseRevokeRequest request;
  request.set_id(lease_id);
  pb::LeaseRevokeResponse response;
  return impl_->Call("revoke lease", [&](Impl::Stubs& stubs, grpc::ClientContext* context) {
    return stubs.lease->LeaseRevoke(context, request, &response);
  });
}

// Keeps one Watch stream open on the current endpoint. `next_revision_` is
// where the stream resumes: 0 means "resynchronise" (read the key, deliver
// it, then watch from just after that read), which is also how a watch
// resumes when etcd has compacted the revisions it missed.
class EtcdClient::KeyWatch final : public EtcdClient::Watch {
 public:
  KeyWatch(Impl& impl, std::string key, WatchCallback on_change)
      : impl_(impl), key_(std::move(key)), on_change_(std::move(on_change)) {
    thread_ = std::thread([this] { Run(); });
  }

  ~KeyWatch() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      if (context_ != nullptr) context_->TryCancel();
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  static constexpr std::chrono::milliseconds kRetryPause{250};

  void Run() {
    int64_t next_revision = 0;
    while (!stopping()) {
      if (next_revision == 0) {
        absl::StatusOr<int64_t> synced = Resynchronise();
        if (!synced.ok()) {
          spdlog::warn("etcd watch of {}: {}", key_, synced.status().message());
          Pause();
          continue;
        }
        next_revision = *synced;
      }
      const size_t index = impl_.current();
      grpc::Status status = Stream(index, next_revision);
      if (stopping()) return;
      spdlog::warn("etcd watch of {} on {} ended ({}); resuming", key_, impl_.endpoints_[index],
                   status.ok() ? "cancelled by the server" : status.error_message());
      impl_.MoveOn(index);
      Pause();
    }
  }

  // Reads the key, hands its value on, and returns the revision to watch
  // from: the one after the read.
  absl::StatusOr<int64_t> Resynchronise() {
    pb::RangeRequest request;
    request.set_key(key_);
    pb::RangeResponse response;
    RETURN_IF_ERROR(impl_.Call("watch: get", [&](Impl::Stubs& stubs, grpc::ClientContext* context) {
      return stubs.kv->Range(context, request, &response);
    }));
    Deliver(response.kvs_size() == 0 ? std::optional<std::string>()
                                     : std::optional<std::string>(response.kvs(0).value()));
    return response.header().revision() + 1;
  }

  // Watches from `next_revision` until the stream ends; advances it past
  // every event delivered (0 when the server has compacted what we missed).
  grpc::Status Stream(size_t index, int64_t& next_revision) {
    grpc::ClientContext context;
    // Without this a member cut off from its leader keeps the stream open
    // and silent; with it the member cancels the stream and we move on.
    context.AddMetadata("hasleader", "true");
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return grpc::Status::CANCELLED;
      context_ = &context;
    }
    auto stream = impl_.stubs(index).watch->Watch(&context);
    pb::WatchRequest request;
    pb::WatchCreateRequest* create = request.mutable_create_request();
    create->set_key(key_);
    create->set_start_revision(next_revision);
    pb::WatchResponse response;
    if (stream->Write(request)) {
      while (stream->Read(&response)) {
        if (response.canceled()) {
          if (response.compact_revision() > 0) next_revision = 0;
          context.TryCancel();
          break;
        }
        for (const mvccpb::Event& event : response.events()) {
          Deliver(event.type() == mvccpb::Event::DELETE
                      ? std::optional<std::string>()
                      : std::optional<std::string>(event.kv().value()));
          next_revision = event.kv().mod_revision() + 1;
        }
      }
    }
    grpc::Status status = stream->Finish();
    std::lock_guard lock(mutex_);
    context_ = nullptr;
    return status;
  }

  void Deliver(const std::optional<std::string>& value) {
    if (!stopping()) on_change_(value);
  }

  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  void Pause() {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, kRetryPause, [this] { return stopping_; });
  }

  Impl& impl_;
  const std::string key_;
  const WatchCallback on_change_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;                   // GUARDED_BY(mutex_)
  grpc::ClientContext* context_ = nullptr;  // GUARDED_BY(mutex_): the open stream's
  std::thread thread_;                      // last: starts after the fields it reads
};

std::unique_ptr<EtcdClient::Watch> EtcdClient::WatchKey(std::string key, WatchCallback on_change) {
  return std::make_unique<KeyWatch>(*impl_, std::move(key), std::move(on_change));
}

}  // namespace dvs::metadata
