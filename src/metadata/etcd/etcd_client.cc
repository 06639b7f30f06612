#include "metadata/etcd/etcd_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
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
// A watch stream is silent while nothing changes, so only pings tell a member
// that stopped answering (hung, or cut off without a reset) from a quiet one.
// etcd refuses pings more often than every 5 s (--grpc-keepalive-min-time).
constexpr int kKeepaliveTimeMs = 10000;
constexpr int kKeepaliveTimeoutMs = 5000;

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

grpc::ChannelArguments ChannelArguments() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, kMinReconnectBackoffMs);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kMinReconnectBackoffMs);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);  // default 2: a quiet watch goes unpinged
  // One watch answer carries every event of up to 1000 revisions (etcd splits
  // it only when asked): like clientv3, take any size rather than fail on it
  // again at every reconnect.
  args.SetMaxReceiveMessageSize(-1);
  return args;
}

pb::Compare KeyIsAbsent(std::string_view key) {
  pb::Compare compare;
  compare.set_key(std::string(key));
  compare.set_target(pb::Compare::VERSION);
  compare.set_result(pb::Compare::EQUAL);
  compare.set_version(0);
  return compare;
}

// etcd compares a missing key as mod revision 0, so 0 means "absent".
pb::Compare ModRevisionIs(std::string_view key, int64_t mod_revision) {
  pb::Compare compare;
  compare.set_key(std::string(key));
  compare.set_target(pb::Compare::MOD);
  compare.set_result(pb::Compare::EQUAL);
  compare.set_mod_revision(mod_revision);
  return compare;
}

// The key as the failure branch of a Txn read it (nullptr: absent).
const mvccpb::KeyValue* KeyReadOnFailure(const pb::TxnResponse& response) {
  if (response.responses_size() != 1) return nullptr;
  const pb::RangeResponse& range = response.responses(0).response_range();
  return range.kvs_size() == 1 ? &range.kvs(0) : nullptr;
}

std::string AlarmText(const pb::AlarmMember& member) {
  std::string type = pb::AlarmType_Name(member.alarm());
  if (type.empty()) type = absl::StrCat("alarm ", static_cast<int>(member.alarm()));
  return absl::StrCat(type, " on member ", absl::Hex(member.memberid()));
}

}  // namespace

class EtcdClient::Impl {
 public:
  struct Stubs {
    std::unique_ptr<pb::KV::Stub> kv;
    std::unique_ptr<pb::Lease::Stub> lease;
    std::unique_ptr<pb::Watch::Stub> watch;
    std::unique_ptr<pb::Maintenance::Stub> maintenance;
  };
  // One attempt on one endpoint: fills its response, returns gRPC's status.
  using Attempt = std::function<grpc::Status(Stubs&, grpc::ClientContext*)>;

  Impl(std::vector<std::string> endpoints, Options options)
      : endpoints_(std::move(endpoints)), options_(options) {
    const grpc::ChannelArguments args = ChannelArguments();
    for (const std::string& endpoint : endpoints_) {
      std::shared_ptr<grpc::Channel> channel =
          grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
      stubs_.push_back({pb::KV::NewStub(channel), pb::Lease::NewStub(channel),
                        pb::Watch::NewStub(channel), pb::Maintenance::NewStub(channel)});
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
};

namespace {

// What a conditional write learns, on a retry whose compare failed, about a
// lost earlier attempt (see the class comment). `found` is the key as the
// retry read it (nullptr: absent), `value` ours (nullopt for a delete),
// `seen_before` the newest revision known when the call began, `now` the
// revision of the retry's answer.
absl::StatusOr<EtcdClient::WriteResult> AfterLostAnswer(std::string_view what, std::string_view key,
                                                        const mvccpb::KeyValue* found,
                                                        std::optional<std::string_view> value,
                                                        int64_t seen_before, int64_t now) {
  // The key's state is older than the call: no attempt of ours applied.
  if (found != nullptr && found->mod_revision() <= seen_before) {
    return EtcdClient::WriteResult{false, now};
  }
  // The key is as our write leaves it: ours (or an identical one) applied.
  if (!value.has_value() && found == nullptr) return EtcdClient::WriteResult{true, now};
  if (value.has_value() && found != nullptr && found->value() == *value) {
    return EtcdClient::WriteResult{true, found->mod_revision()};
  }
  return absl::UnavailableError(absl::StrCat(
      "etcd ", common::AsAbsl(what), " of \"", absl::CHexEscape(common::AsAbsl(key)),
      "\": the outcome is unknown (an attempt that may have been applied lost its answer while "
      "etcd failed over, and the key has changed since)"));
}

}  // namespace

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

std::string EtcdClient::PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return std::string(1, '\0');  // etcd: every key
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

absl::StatusOr<std::optional<EtcdClient::Value>> EtcdClient::Get(std::string_view key) {
  pb::RangeRequest request;
  request.set_key(std::string(key));
  pb::RangeResponse response;
  RETURN_IF_ERROR(impl_->CallKv("get", &pb::KV::Stub::Range, request, &response));
  if (response.kvs_size() == 0) return std::optional<Value>();
  const mvccpb::KeyValue& kv = response.kvs(0);
  return std::optional<Value>(Value{kv.value(), kv.mod_revision()});
}

absl::StatusOr<std::vector<EtcdClient::KeyValue>> EtcdClient::GetPrefix(std::string_view prefix) {
  ASSIGN_OR_RETURN(RangePage page, GetRange(prefix, PrefixEnd(prefix), 0));
  return std::move(page.kvs);
}

// etcd's header.revision is the store's newest revision even when an older
// one was asked for; the page names the revision it was read at.
absl::StatusOr<EtcdClient::RangePage> EtcdClient::GetRange(std::string_view start,
                                                           std::string_view end, int64_t limit,
                                                           int64_t revision) {
  pb::RangeRequest request;
  request.set_key(std::string(start));
  request.set_range_end(std::string(end));
  request.set_limit(limit);
  request.set_revision(revision);
  pb::RangeResponse response;
  absl::Status status = impl_->CallKv("get range", &pb::KV::Stub::Range, request, &response);
  if (status.code() == absl::StatusCode::kOutOfRange &&
      absl::StrContains(status.message(), "compacted")) {
    return absl::OutOfRangeError(absl::StrCat("etcd: revision ", revision,
                                              " was compacted, its history is gone; read at a "
                                              "newer revision (",
                                              status.message(), ")"));
  }
  RETURN_IF_ERROR(status);
  RangePage page{.more = response.more(),
                 .revision = revision > 0 ? revision : response.header().revision()};
  page.kvs.reserve(response.kvs_size());
  for (const mvccpb::KeyValue& kv : response.kvs()) {
    page.kvs.push_back({kv.key(), kv.value(), kv.mod_revision()});
  }
  return page;
}

absl::Status EtcdClient::Put(std::string_view key, std::string_view value) {
  return PutWithLease(key, value, 0);
}

absl::StatusOr<int64_t> EtcdClient::PutAt(std::string_view key, std::string_view value) {
  pb::PutRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  pb::PutResponse response;
  RETURN_IF_ERROR(impl_->CallKv("put", &pb::KV::Stub::Put, request, &response));
  return response.header().revision();
}

absl::Status EtcdClient::PutWithLease(std::string_view key, std::string_view value,
                                      int64_t lease_id) {
  pb::PutRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  request.set_lease(lease_id);
  pb::PutResponse response;
  return impl_->CallKv("put", &pb::KV::Stub::Put, request, &response);
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
  RETURN_IF_ERROR(
      impl_->CallKv("put if absent", &pb::KV::Stub::Txn, request, &response, &attempts));
  PutIfAbsentResult result{.created = response.succeeded()};
  const mvccpb::KeyValue* existing = KeyReadOnFailure(response);
  if (!result.created && existing != nullptr) {
    result.existing_value = existing->value();
    if (attempts > 1 && existing->value() == value && existing->lease() == lease_id) {
      result.created = true;
    }
  }
  return result;
}

absl::StatusOr<EtcdClient::WriteResult> EtcdClient::CompareAndPutAt(std::string_view key,
                                                                    int64_t expected_mod_revision,
                                                                    std::string_view value) {
  pb::TxnRequest request;
  *request.add_compare() = ModRevisionIs(key, expected_mod_revision);
  pb::PutRequest* put = request.add_success()->mutable_request_put();
  put->set_key(std::string(key));
  put->set_value(std::string(value));
  request.add_failure()->mutable_request_range()->set_key(std::string(key));
  pb::TxnResponse response;
  int attempts = 0;
  const int64_t seen_before = impl_->newest_revision();
  RETURN_IF_ERROR(
      impl_->CallKv("compare and put", &pb::KV::Stub::Txn, request, &response, &attempts));
  const int64_t now = response.header().revision();
  if (response.succeeded()) return WriteResult{true, now};
  if (attempts == 1) return WriteResult{false, now};
  return AfterLostAnswer("compare and put", key, KeyReadOnFailure(response), value, seen_before,
                         now);
}

absl::StatusOr<bool> EtcdClient::CompareAndPut(std::string_view key, int64_t expected_mod_revision,
                                               std::string_view value) {
  ASSIGN_OR_RETURN(WriteResult result, CompareAndPutAt(key, expected_mod_revision, value));
  return result.written;
}

absl::StatusOr<EtcdClient::WriteResult> EtcdClient::CompareAndDelete(
    std::string_view key, int64_t expected_mod_revision) {
  pb::TxnRequest request;
  *request.add_compare() = ModRevisionIs(key, expected_mod_revision);
  request.add_success()->mutable_request_delete_range()->set_key(std::string(key));
  request.add_failure()->mutable_request_range()->set_key(std::string(key));
  pb::TxnResponse response;
  int attempts = 0;
  const int64_t seen_before = impl_->newest_revision();
  RETURN_IF_ERROR(
      impl_->CallKv("compare and delete", &pb::KV::Stub::Txn, request, &response, &attempts));
  const int64_t now = response.header().revision();
  // A success that deleted nothing: the key was absent and 0 was expected.
  if (response.succeeded()) {
    return WriteResult{response.responses_size() == 1 &&
                           response.responses(0).response_delete_range().deleted() > 0,
                       now};
  }
  if (attempts == 1) return WriteResult{false, now};
  return AfterLostAnswer("compare and delete", key, KeyReadOnFailure(response), std::nullopt,
                         seen_before, now);
}

absl::StatusOr<EtcdClient::WriteResult> EtcdClient::DeleteAt(std::string_view key) {
  pb::DeleteRangeRequest request;
  request.set_key(std::string(key));
  pb::DeleteRangeResponse response;
  int attempts = 0;
  RETURN_IF_ERROR(
      impl_->CallKv("delete", &pb::KV::Stub::DeleteRange, request, &response, &attempts));
  return WriteResult{response.deleted() > 0 || attempts > 1, response.header().revision()};
}

absl::StatusOr<int64_t> EtcdClient::Delete(std::string_view key) {
  pb::DeleteRangeRequest request;
  request.set_key(std::string(key));
  pb::DeleteRangeResponse response;
  RETURN_IF_ERROR(impl_->CallKv("delete", &pb::KV::Stub::DeleteRange, request, &response));
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

// Compaction is a raft entry: every linearizable read after it, on any
// member, refuses older revisions. physical: answered only once the answering
// member's database has dropped them too.
absl::Status EtcdClient::Compact(int64_t revision) {
  pb::CompactionRequest request;
  request.set_revision(revision);
  request.set_physical(true);
  pb::CompactionResponse response;
  return impl_->CallKv("compact", &pb::KV::Stub::Compact, request, &response);
}

absl::StatusOr<std::vector<std::string>> EtcdClient::Alarms() {
  pb::AlarmRequest request;
  request.set_action(pb::AlarmRequest::GET);
  pb::AlarmResponse response;
  RETURN_IF_ERROR(impl_->Call("alarms", [&](Impl::Stubs& stubs, grpc::ClientContext* context) {
    return stubs.maintenance->Alarm(context, request, &response);
  }));
  std::vector<std::string> alarms;
  for (const pb::AlarmMember& member : response.alarms()) {
    if (member.alarm() != pb::NONE) alarms.push_back(AlarmText(member));
  }
  return alarms;
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
    RETURN_IF_ERROR(impl_.CallKv("watch: get", &pb::KV::Stub::Range, request, &response));
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

// Keeps one Watch stream over the prefix open on the current endpoint and
// reopens it, on the next endpoint, from `next_revision_` (one past the last
// revision delivered) whenever it breaks. etcd sends every event of a
// revision in one answer, so resuming there neither repeats nor skips one.
class EtcdClient::PrefixWatch final : public EtcdClient::Watch {
 public:
  PrefixWatch(Impl& impl, std::string prefix, int64_t start_revision, EventsCallback on_events,
              CompactedCallback on_compacted)
      : impl_(impl),
        prefix_(std::move(prefix)),
        on_events_(std::move(on_events)),
        on_compacted_(std::move(on_compacted)),
        next_revision_(start_revision) {
    thread_ = std::thread([this] { Run(); });
  }

  ~PrefixWatch() override {
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
    while (!stopping()) {
      const size_t index = impl_.current();
      grpc::Status status = Stream(index);
      if (stopping() || compacted_) return;
      spdlog::warn("etcd watch of {} on {} ended ({}); resuming at revision {}", prefix_,
                   impl_.endpoints_[index],
                   status.ok() ? "cancelled by the server" : status.error_message(),
                   next_revision_);
      impl_.MoveOn(index);
      Pause();
    }
  }

  grpc::Status Stream(size_t index) {
    grpc::ClientContext context;
    // A member cut off from its leader then cancels the stream, and we move on.
    context.AddMetadata("hasleader", "true");
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return grpc::Status::CANCELLED;
      context_ = &context;
    }
    auto stream = impl_.stubs(index).watch->Watch(&context);
    pb::WatchResponse response;
    if (stream->Write(CreateRequest())) {
      while (stream->Read(&response)) {
        if (!Handle(response)) {
          context.TryCancel();  // the server's side of the stream is still open
          break;
        }
      }
    }
    grpc::Status status = stream->Finish();
    std::lock_guard lock(mutex_);
    context_ = nullptr;
    return status;
  }

  pb::WatchRequest CreateRequest() const {
    pb::WatchRequest request;
    pb::WatchCreateRequest* create = request.mutable_create_request();
    create->set_key(prefix_);
    create->set_range_end(PrefixEnd(prefix_));
    create->set_start_revision(next_revision_);
    // Lets a quiet watch advance, so that a reconnect after a compaction of
    // revisions that held nothing for us needs no reload.
    create->set_progress_notify(true);
    return request;
  }

  // Acts on one answer; false when the stream is over.
  bool Handle(const pb::WatchResponse& response) {
    const int64_t revision = response.header().revision();
    impl_.Saw(revision);
    if (response.canceled()) {
      if (response.compact_revision() > 0) {
        compacted_ = true;
        if (!stopping()) on_compacted_(response.compact_revision());
      } else {
        spdlog::warn("etcd watch of {} cancelled: {}", prefix_, response.cancel_reason());
      }
      return false;
    }
    if (response.created()) {
      // From now: the server watches from just after the revision it names.
      if (next_revision_ == 0) next_revision_ = revision + 1;
      return true;
    }
    // Without events, a progress notice: nothing more is coming up to it.
    if (response.events_size() == 0) next_revision_ = std::max(next_revision_, revision + 1);
    Deliver(response);
    return true;
  }

  void Deliver(const pb::WatchResponse& response) {
    std::vector<Event> events;
    events.reserve(response.events_size());
    for (const mvccpb::Event& event : response.events()) {
      const mvccpb::KeyValue& kv = event.kv();
      if (kv.mod_revision() < next_revision_) continue;  // delivered before
      const bool put = event.type() != mvccpb::Event::DELETE;
      events.push_back({put ? Event::Type::kPut : Event::Type::kDelete, kv.key(),
                        put ? kv.value() : std::string(), kv.mod_revision()});
    }
    if (events.empty()) return;
    next_revision_ = events.back().mod_revision + 1;
    if (!stopping()) on_events_(events);
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
  const std::string prefix_;
  const EventsCallback on_events_;
  const CompactedCallback on_compacted_;
  // Used by thread_ only.
  int64_t next_revision_;
  bool compacted_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;                   // GUARDED_BY(mutex_)
  grpc::ClientContext* context_ = nullptr;  // GUARDED_BY(mutex_): the open stream's
  std::thread thread_;                      // last: starts after the fields it reads
};

std::unique_ptr<EtcdClient::Watch> EtcdClient::WatchPrefix(std::string prefix,
                                                           int64_t start_revision,
                                                           EventsCallback on_events,
                                                           CompactedCallback on_compacted) {
  return std::make_unique<PrefixWatch>(*impl_, std::move(prefix), start_revision,
                                       std::move(on_events), std::move(on_compacted));
}

}  // namespace dvs::metadata
