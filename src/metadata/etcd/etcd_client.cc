#include "metadata/etcd/etcd_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <thread>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "metadata/etcd/etcd_client_impl.h"
#include "metrics/registry.h"
#include "proto/etcd/rpc.grpc.pb.h"
#include "spdlog/spdlog.h"

namespace dvs::metadata {
namespace {

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

namespace {

std::shared_ptr<grpc::ChannelCredentials> CredentialsFor(const EtcdClient::Options& options) {
  if (options.tls_ca_pem.empty() && options.tls_cert_pem.empty()) {
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = options.tls_ca_pem;
  tls.pem_private_key = options.tls_key_pem;
  tls.pem_cert_chain = options.tls_cert_pem;
  return grpc::SslCredentials(tls);
}

// etcd's answers to a call whose auth token it does not accept: "invalid
// auth token" (UNAUTHENTICATED; the token expired, or the member that made it
// restarted) and "user name is empty" (INVALID_ARGUMENT; no token at all).
bool IsTokenRejected(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
         (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
          absl::StrContains(status.error_message(), "user name is empty"));
}

}  // namespace

EtcdClient::Impl::Impl(std::vector<std::string> endpoints, Options options)
    : endpoints_(std::move(endpoints)), options_(std::move(options)) {
  const grpc::ChannelArguments args = ChannelArguments();
  std::shared_ptr<grpc::ChannelCredentials> credentials = CredentialsFor(options_);
  for (const std::string& endpoint : endpoints_) {
    std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(endpoint, credentials, args);
    stubs_.push_back({pb::KV::NewStub(channel), pb::Lease::NewStub(channel),
                      pb::Watch::NewStub(channel), pb::Maintenance::NewStub(channel),
                      pb::Auth::NewStub(channel)});
  }
}

grpc::Status EtcdClient::Impl::Authorize(size_t index, grpc::ClientContext& context) {
  if (options_.user.empty()) return grpc::Status::OK;
  std::string token;
  {
    std::lock_guard lock(token_mutex_);
    token = token_;
  }
  if (token.empty()) {
    grpc::ClientContext login;
    login.set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
    pb::AuthenticateRequest request;
    request.set_name(options_.user);
    request.set_password(options_.password);
    pb::AuthenticateResponse response;
    grpc::Status status = stubs_[index].auth->Authenticate(&login, request, &response);
    if (!status.ok() && !IsRetryable(status.error_code())) {
      return grpc::Status(
          grpc::StatusCode::UNAUTHENTICATED,
          absl::StrCat("etcd refused the login of user \"", options_.user,
                       "\": ", status.error_message(), " (check --etcd-user and --etcd-password)"));
    }
    if (!status.ok()) return status;
    token = response.token();
    std::lock_guard lock(token_mutex_);
    token_ = token;
  }
  context.AddMetadata("token", token);
  return grpc::Status::OK;
}

bool EtcdClient::Impl::ForgetRejectedToken(const grpc::Status& status) {
  if (options_.user.empty() || !IsTokenRejected(status)) return false;
  std::lock_guard lock(token_mutex_);
  token_.clear();
  return true;
}

namespace {

// /metrics: each etcd call's time, all its attempts, by what it did (`what`
// is one of a few fixed words, so the label stays bounded).
class CallTimer {
 public:
  explicit CallTimer(std::string_view what)
      : what_(what), started_(std::chrono::steady_clock::now()) {}
  ~CallTimer() {
    static metrics::Family<metrics::Histogram>& seconds =
        metrics::DefaultRegistry().AddHistogramFamily(
            "dvs_etcd_request_duration_seconds",
            "Time of each etcd call, retries and fail-over included, by call.", {"call"},
            metrics::LatencyBuckets(), 64);
    seconds.With({std::string(what_)})
        .Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
  }

 private:
  const std::string_view what_;
  const std::chrono::steady_clock::time_point started_;
};

}  // namespace

absl::Status EtcdClient::Impl::Call(std::string_view what, const Attempt& attempt,
                                    int* attempts_made) {
  CallTimer timer(what);
  const int max_attempts =
      options_.max_attempts > 0 ? options_.max_attempts : 2 * static_cast<int>(endpoints_.size());
  std::string last_error;
  bool logged_in_again = false;
  for (int i = 0; i < max_attempts; ++i) {
    if (attempts_made != nullptr) *attempts_made = i + 1;
    size_t index = current_.load();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
    grpc::Status status = Authorize(index, context);
    const bool authorized = status.ok();
    if (authorized) status = attempt(stubs_[index], &context);
    if (status.ok()) return absl::OkStatus();
    // A call whose token etcd rejected was not applied: log in again and
    // retry, once.
    if (authorized && !logged_in_again && ForgetRejectedToken(status)) {
      logged_in_again = true;
      --i;
      continue;
    }
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

absl::StatusOr<EtcdClient::WriteResult> EtcdClient::PutIfLeaseHolds(std::string_view key,
                                                                    std::string_view value,
                                                                    std::string_view lock_key,
                                                                    int64_t lease_id) {
  pb::TxnRequest request;
  pb::Compare* fence = request.add_compare();
  fence->set_key(std::string(lock_key));
  fence->set_target(pb::Compare::LEASE);
  fence->set_result(pb::Compare::EQUAL);
  fence->set_lease(lease_id);
  pb::PutRequest* put = request.add_success()->mutable_request_put();
  put->set_key(std::string(key));
  put->set_value(std::string(value));
  request.add_failure()->mutable_request_range()->set_key(std::string(key));
  pb::TxnResponse response;
  int attempts = 0;
  const int64_t seen_before = impl_->newest_revision();
  RETURN_IF_ERROR(impl_->CallKv("fenced put", &pb::KV::Stub::Txn, request, &response, &attempts));
  const int64_t now = response.header().revision();
  if (response.succeeded()) return WriteResult{true, now};
  if (attempts == 1) return WriteResult{false, now};
  return AfterLostAnswer("fenced put", key, KeyReadOnFailure(response), value, seen_before, now);
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

}  // namespace dvs::metadata
