// EtcdClient's watches: WatchKey (one key, resynchronised by a read after a
// compaction) and WatchPrefix (every key under a prefix, in revision order).
#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

#include "metadata/etcd/etcd_client.h"
#include "metadata/etcd/etcd_client_impl.h"
#include "spdlog/spdlog.h"

namespace dvs::metadata {

// A thread that keeps one Watch stream open on the current endpoint and,
// when it ends, moves on to the next endpoint after a pause; destroying the
// watch cancels the open stream. A derived class calls Start() last in its
// constructor and Stop() first in its destructor (the thread uses its fields).
class EtcdClient::StreamWatch : public EtcdClient::Watch {
 protected:
  using Handler = std::function<bool(const pb::WatchResponse&)>;

  explicit StreamWatch(Impl& impl) : impl_(impl) {}

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }

  void Stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      if (context_ != nullptr) context_->TryCancel();
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // The loop of the watch's own thread.
  virtual void Run() = 0;

  // Opens a stream on endpoint `index`, sends `request`, and hands each
  // answer to `handle` until it returns false or the stream ends.
  grpc::Status Stream(size_t index, const pb::WatchRequest& request, const Handler& handle) {
    grpc::ClientContext context;
    // Without this a member cut off from its leader keeps the stream open
    // and silent; with it the member cancels the stream and we move on.
    context.AddMetadata("hasleader", "true");
    if (grpc::Status authorized = impl_.Authorize(index, context); !authorized.ok()) {
      return authorized;
    }
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return grpc::Status::CANCELLED;
      context_ = &context;
    }
    auto stream = impl_.stubs(index).watch->Watch(&context);
    pb::WatchResponse response;
    if (stream->Write(request)) {
      while (stream->Read(&response)) {
        if (!handle(response)) {
          context.TryCancel();  // the server's side of the stream is still open
          break;
        }
      }
    }
    grpc::Status status = stream->Finish();
    impl_.ForgetRejectedToken(status);  // the next stream logs in again
    std::lock_guard lock(mutex_);
    context_ = nullptr;
    return status;
  }

  // After a stream on `index` ended: the next endpoint, after a pause.
  void MoveOn(size_t index, std::string_view what, const grpc::Status& status) {
    spdlog::warn("etcd watch of {} on {} ended ({}); resuming", what, impl_.endpoints_[index],
                 status.ok() ? "cancelled by the server" : status.error_message());
    impl_.MoveOn(index);
    Pause();
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

 private:
  static constexpr std::chrono::milliseconds kRetryPause{250};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;                   // GUARDED_BY(mutex_)
  grpc::ClientContext* context_ = nullptr;  // GUARDED_BY(mutex_): the open stream's
  std::thread thread_;
};

// `next_revision_` is where the stream resumes: 0 means "resynchronise"
// (read the key, deliver it, then watch from just after that read), which is
// also how a watch resumes when etcd has compacted the revisions it missed.
class EtcdClient::KeyWatch final : public EtcdClient::StreamWatch {
 public:
  KeyWatch(Impl& impl, std::string key, WatchCallback on_change)
      : StreamWatch(impl), key_(std::move(key)), on_change_(std::move(on_change)) {
    Start();
  }
  ~KeyWatch() override { Stop(); }

 private:
  void Run() override {
    while (!stopping()) {
      if (next_revision_ == 0) {
        absl::StatusOr<int64_t> synced = Resynchronise();
        if (!synced.ok()) {
          spdlog::warn("etcd watch of {}: {}", key_, synced.status().message());
          Pause();
          continue;
        }
        next_revision_ = *synced;
      }
      const size_t index = impl_.current();
      pb::WatchRequest request;
      request.mutable_create_request()->set_key(key_);
      request.mutable_create_request()->set_start_revision(next_revision_);
      grpc::Status status =
          Stream(index, request, [this](const pb::WatchResponse& r) { return Handle(r); });
      if (stopping()) return;
      MoveOn(index, key_, status);
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

  // Advances next_revision_ past every event delivered (0 when the server
  // has compacted what we missed); false when the stream is over.
  bool Handle(const pb::WatchResponse& response) {
    if (response.canceled()) {
      if (response.compact_revision() > 0) next_revision_ = 0;
      return false;
    }
    for (const mvccpb::Event& event : response.events()) {
      Deliver(event.type() == mvccpb::Event::DELETE
                  ? std::optional<std::string>()
                  : std::optional<std::string>(event.kv().value()));
      next_revision_ = event.kv().mod_revision() + 1;
    }
    return true;
  }

  void Deliver(const std::optional<std::string>& value) {
    if (!stopping()) on_change_(value);
  }

  const std::string key_;
  const WatchCallback on_change_;
  int64_t next_revision_ = 0;  // used by the watch's thread only
};

std::unique_ptr<EtcdClient::Watch> EtcdClient::WatchKey(std::string key, WatchCallback on_change) {
  return std::make_unique<KeyWatch>(*impl_, std::move(key), std::move(on_change));
}

// Reopens the stream, on the next endpoint, from `next_revision_` (one past
// the last revision delivered) whenever it breaks. etcd sends every event of
// a revision in one answer, so resuming there neither repeats nor skips one.
class EtcdClient::PrefixWatch final : public EtcdClient::StreamWatch {
 public:
  PrefixWatch(Impl& impl, std::string prefix, int64_t start_revision, EventsCallback on_events,
              CompactedCallback on_compacted)
      : StreamWatch(impl),
        prefix_(std::move(prefix)),
        on_events_(std::move(on_events)),
        on_compacted_(std::move(on_compacted)),
        next_revision_(start_revision) {
    Start();
  }
  ~PrefixWatch() override { Stop(); }

 private:
  void Run() override {
    while (!stopping()) {
      const size_t index = impl_.current();
      grpc::Status status =
          Stream(index, CreateRequest(), [this](const pb::WatchResponse& r) { return Handle(r); });
      if (stopping() || compacted_) return;
      MoveOn(index, prefix_, status);
    }
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

  const std::string prefix_;
  const EventsCallback on_events_;
  const CompactedCallback on_compacted_;
  // Used by the watch's thread only.
  int64_t next_revision_;
  bool compacted_ = false;
};

std::unique_ptr<EtcdClient::Watch> EtcdClient::WatchPrefix(std::string prefix,
                                                           int64_t start_revision,
                                                           EventsCallback on_events,
                                                           CompactedCallback on_compacted) {
  return std::make_unique<PrefixWatch>(*impl_, std::move(prefix), start_revision,
                                       std::move(on_events), std::move(on_compacted));
}

}  // namespace dvs::metadata
