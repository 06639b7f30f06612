#include "storage/storage_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_security.h"
#include "common/grpc_status.h"
#include "common/sha256.h"
#include "common/status.h"
#include "proto/storage.grpc.pb.h"

namespace dvs::storage {
namespace {

using Clock = std::chrono::system_clock;

// A chunk plus framing, with room for a server that batches more.
constexpr int kMaxMessageBytes = 8 << 20;

// The server's code, with a message that names the node.
absl::Status NodeError(const grpc::Status& status, std::string_view address) {
  absl::Status error = common::FromGrpcStatus(status);
  std::string_view message = common::AsStd(error.message());
  switch (error.code()) {
    case absl::StatusCode::kUnavailable:
      return absl::UnavailableError(absl::StrCat("storage node ", common::AsAbsl(address),
                                                 " is unavailable: ", common::AsAbsl(message)));
    case absl::StatusCode::kDeadlineExceeded:
      return absl::DeadlineExceededError(
          absl::StrCat("storage node ", common::AsAbsl(address),
                       " did not answer in time: ", common::AsAbsl(message)));
    default:
      return absl::Status(error.code(), absl::StrCat(common::AsAbsl(message), " (storage node ",
                                                     common::AsAbsl(address), ")"));
  }
}

// Every call: its deadline and the cluster credential.
void Prepare(grpc::ClientContext& context, const StorageClientOptions& options,
             std::chrono::milliseconds timeout) {
  context.set_deadline(Clock::now() + timeout);
  common::AddBearer(context, options.cluster_token);
}

BlobInfo FromProto(const v1::Blob& blob) {
  return BlobInfo{blob.key(), blob.size(), blob.sha256()};
}

PutOutcome FromProto(v1::PutOutcome outcome) {
  switch (outcome) {
    case v1::PUT_OUTCOME_REPLACED:
      return PutOutcome::kReplaced;
    case v1::PUT_OUTCOME_UNCHANGED:
      return PutOutcome::kUnchanged;
    default:
      return PutOutcome::kCreated;
  }
}

}  // namespace

struct StorageClient::Channel {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Storage::Stub> stub;
};

StorageClient::StorageClient(std::string address, StorageClientOptions options)
    : address_(std::move(address)), options_(options), channel_(std::make_unique<Channel>()) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // gRPC's default backoff grows to two minutes; a node back from a restart
  // should be used again within seconds.
  int backoff_ms = static_cast<int>(options_.max_reconnect_backoff.count());
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, backoff_ms);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(backoff_ms, 1000));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, std::min(backoff_ms, 1000));
  // A node that hangs (stopped, swapping, a dead disk) keeps its TCP
  // connection open and answers nothing: pings while calls wait find it out,
  // and its calls fail over, in keepalive time + timeout rather than at the
  // calls' own (long) deadlines. The storage server allows pings this often.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options_.keepalive_time.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(options_.keepalive_timeout.count()));
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  channel_->channel =
      grpc::CreateCustomChannel(address_, common::ChannelCredentialsFor(options_.tls_ca_pem), args);
  channel_->stub = v1::Storage::NewStub(channel_->channel);
}

StorageClient::~StorageClient() = default;

// ---- Put ----

absl::StatusOr<PutResult> StorageClient::Put(std::string_view key, std::string_view bytes) {
  std::string sha256 = common::Sha256Hex(bytes);
  return PutFrom(key, bytes.size(), sha256,
                 [&bytes](char* buffer, size_t max) -> absl::StatusOr<size_t> {
                   size_t take = std::min(max, bytes.size());
                   std::memcpy(buffer, bytes.data(), take);
                   bytes.remove_prefix(take);
                   return take;
                 });
}

absl::StatusOr<PutResult> StorageClient::PutFile(std::string_view key,
                                                 const std::filesystem::path& path) {
  std::error_code error;
  uint64_t size = std::filesystem::file_size(path, error);
  if (error) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path.string(), ": ", error.message()));
  }
  ASSIGN_OR_RETURN(std::string sha256, common::Sha256OfFile(path));
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot open ", path.string(), ": ", std::strerror(errno)));
  }
  return PutFrom(key, size, sha256, [&](char* buffer, size_t max) -> absl::StatusOr<size_t> {
    size_t got = std::fread(buffer, 1, max, file.get());
    if (got == 0 && std::ferror(file.get())) {
      return absl::InternalError(absl::StrCat("cannot read ", path.string()));
    }
    return got;
  });
}

absl::StatusOr<PutResult> StorageClient::PutFrom(std::string_view key, uint64_t size,
                                                 std::string_view sha256, const PutSource& source) {
  return PutChunks(key, size, sha256, [&source](std::string& chunk) -> absl::StatusOr<bool> {
    chunk.resize(kBlockSize);
    ASSIGN_OR_RETURN(size_t got, source(chunk.data(), chunk.size()));
    chunk.resize(got);
    return got > 0;
  });
}

absl::StatusOr<PutResult> StorageClient::PutChunks(std::string_view key, uint64_t size,
                                                   std::string_view sha256,
                                                   const ChunkSource& source,
                                                   std::string_view block_sha256) {
  RETURN_IF_ERROR(ValidateKey(key));
  grpc::ClientContext context;
  auto transfer = std::chrono::duration<double>(
      static_cast<double>(size) /
      static_cast<double>(std::max<uint64_t>(1, options_.put_min_bytes_per_second)));
  Prepare(context, options_,
          options_.call_timeout + std::chrono::duration_cast<std::chrono::milliseconds>(transfer));
  v1::PutResponse response;
  std::unique_ptr<grpc::ClientWriter<v1::PutRequest>> writer =
      channel_->stub->Put(&context, &response);
  v1::PutRequest request;
  v1::PutHeader* header = request.mutable_header();
  header->set_key(std::string(key));
  header->set_size(size);
  header->set_sha256(std::string(sha256));
  header->set_block_sha256(std::string(block_sha256));
  // A failed Write means the server has ended the call; Finish says why.
  bool open = writer->Write(request);
  while (open) {
    absl::StatusOr<bool> more = source(*request.mutable_chunk());
    if (!more.ok()) {
      context.TryCancel();     // the node then stores nothing
      (void)writer->Finish();  // CANCELLED, by us; the source's error is the one to report
      return more.status();
    }
    if (!*more) break;
    open = writer->Write(request);
  }
  if (open) writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) return NodeError(status, address_);
  return PutResult{FromProto(response.blob()), FromProto(response.outcome())};
}

absl::StatusOr<FetchResult> StorageClient::Fetch(std::string_view key, std::string_view source) {
  RETURN_IF_ERROR(ValidateKey(key));
  grpc::ClientContext context;
  // The node streams the whole blob before it answers.
  Prepare(context, options_, options_.call_timeout + options_.stream_timeout);
  v1::FetchRequest request;
  request.set_key(std::string(key));
  request.set_source(std::string(source));
  request.set_tls_ca_pem(options_.tls_ca_pem);
  v1::FetchResponse response;
  grpc::Status status = channel_->stub->Fetch(&context, request, &response);
  if (!status.ok()) return NodeError(status, address_);
  FetchResult result;
  if (response.source_code() != 0) {
    bool known = response.source_code() > 0 && response.source_code() <= 16;
    result.source_error = absl::Status(
        known ? static_cast<absl::StatusCode>(response.source_code()) : absl::StatusCode::kUnknown,
        absl::StrCat(response.source_message(), " (read by storage node ", address_, " from ",
                     common::AsAbsl(source), ")"));
    return result;
  }
  result.stored =
      PutResult{FromProto(response.stored().blob()), FromProto(response.stored().outcome())};
  return result;
}

// ---- Get ----

struct BlobStream::Call {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::GetResponse>> reader;
  std::string address;
  BlobInfo blob;
  uint64_t size = 0;
  std::string block_sha256;  // a copy source's, from the first message
  v1::GetResponse message;
  std::string_view pending;  // the undelivered part of message.chunk()
  uint64_t received = 0;
  std::optional<common::Sha256> whole;  // set when the stream is the whole blob
  std::optional<absl::Status> end;      // set once the call is finished

  // Takes `message`'s chunk as the pending bytes.
  void Accept() {
    pending = message.chunk();
    received += pending.size();
    if (whole.has_value()) whole->Update(pending);
  }
  // Loads the next message; false at the end of the stream (then `end` is set).
  bool Fetch() {
    if (end.has_value()) return false;
    if (reader->Read(&message)) {
      Accept();
      return true;
    }
    end = Finish();
    return false;
  }
  absl::Status Finish() {
    grpc::Status status = reader->Finish();
    if (!status.ok()) return NodeError(status, address);
    if (received != size) {
      return absl::DataLossError(absl::StrCat("storage node ", address, " sent ", received,
                                              " bytes of ", blob.key, " instead of ", size));
    }
    if (whole.has_value() && whole->FinalHex() != blob.sha256) {
      return absl::DataLossError(absl::StrCat("bytes of ", blob.key, " from storage node ", address,
                                              " do not match their sha256"));
    }
    return absl::OkStatus();
  }
  ~Call() {
    if (end.has_value() || reader == nullptr) return;
    context.TryCancel();
    (void)reader->Finish();  // CANCELLED, as asked
  }
};

BlobStream::BlobStream(std::unique_ptr<Call> call) : call_(std::move(call)) {}
BlobStream::~BlobStream() = default;

const BlobInfo& BlobStream::blob() const { return call_->blob; }
uint64_t BlobStream::size() const { return call_->size; }
const std::string& BlobStream::block_sha256() const { return call_->block_sha256; }

absl::StatusOr<std::string_view> BlobStream::Next() {
  while (call_->pending.empty()) {
    if (!call_->Fetch()) {
      RETURN_IF_ERROR(*call_->end);
      return std::string_view();
    }
  }
  return std::exchange(call_->pending, std::string_view());
}

absl::StatusOr<size_t> BlobStream::Read(char* buffer, size_t max) {
  if (max == 0) return 0;
  while (call_->pending.empty()) {
    if (!call_->Fetch()) {
      RETURN_IF_ERROR(*call_->end);
      return 0;
    }
  }
  size_t take = std::min(max, call_->pending.size());
  std::memcpy(buffer, call_->pending.data(), take);
  call_->pending.remove_prefix(take);
  return take;
}

absl::StatusOr<bool> BlobStream::TakeChunk(std::string& chunk) {
  while (call_->pending.empty()) {
    if (!call_->Fetch()) {
      RETURN_IF_ERROR(*call_->end);
      return false;
    }
  }
  std::string* whole = call_->message.mutable_chunk();
  if (call_->pending.data() == whole->data() && call_->pending.size() == whole->size()) {
    std::swap(chunk, *whole);  // the usual case: hand over the message's buffer
  } else {
    chunk.assign(call_->pending);
  }
  call_->pending = std::string_view();
  return true;
}

absl::StatusOr<std::unique_ptr<BlobStream>> StorageClient::OpenRead(std::string_view key,
                                                                    uint64_t offset,
                                                                    uint64_t length) {
  return Open(key, offset, length, /*for_copy=*/false);
}

absl::StatusOr<std::unique_ptr<BlobStream>> StorageClient::OpenCopySource(std::string_view key) {
  return Open(key, 0, 0, /*for_copy=*/true);
}

absl::StatusOr<std::unique_ptr<BlobStream>> StorageClient::Open(std::string_view key,
                                                                uint64_t offset, uint64_t length,
                                                                bool for_copy) {
  RETURN_IF_ERROR(ValidateKey(key));
  auto call = std::make_unique<BlobStream::Call>();
  call->address = address_;
  Prepare(call->context, options_, options_.stream_timeout);
  v1::GetRequest request;
  request.set_key(std::string(key));
  request.set_offset(offset);
  request.set_length(length);
  request.set_for_copy(for_copy);
  call->reader = channel_->stub->Get(&call->context, request);
  if (!call->reader->Read(&call->message)) {
    call->end = call->Finish();
    if (call->end->ok()) {
      return absl::InternalError(absl::StrCat("storage node ", address_, " sent no header"));
    }
    return *call->end;
  }
  call->blob = FromProto(call->message.blob());
  call->size = call->message.range_length();
  call->block_sha256 = std::move(*call->message.mutable_block_sha256());
  // A copy's bytes are checked by the node they go to.
  if (!for_copy && offset == 0 && call->size == call->blob.size) call->whole.emplace();
  call->Accept();
  return std::unique_ptr<BlobStream>(new BlobStream(std::move(call)));
}

absl::Status StorageClient::Get(std::string_view key, uint64_t offset, uint64_t length,
                                const std::function<absl::Status(std::string_view)>& sink) {
  ASSIGN_OR_RETURN(std::unique_ptr<BlobStream> stream, OpenRead(key, offset, length));
  while (true) {
    ASSIGN_OR_RETURN(std::string_view chunk, stream->Next());
    if (chunk.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(sink(chunk));  // dropping `stream` cancels the call
  }
}

absl::StatusOr<std::string> StorageClient::GetBytes(std::string_view key) {
  std::string bytes;
  RETURN_IF_ERROR(Get(key, 0, 0, [&bytes](std::string_view chunk) {
    bytes.append(chunk);
    return absl::OkStatus();
  }));
  return bytes;
}

// ---- Stat, List, Delete, Info ----

absl::StatusOr<BlobInfo> StorageClient::Stat(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  grpc::ClientContext context;
  Prepare(context, options_, options_.call_timeout);
  v1::StatRequest request;
  request.set_key(std::string(key));
  v1::StatResponse response;
  grpc::Status status = channel_->stub->Stat(&context, request, &response);
  if (!status.ok()) return NodeError(status, address_);
  if (!response.found()) {
    return absl::NotFoundError(
        absl::StrCat(common::AsAbsl(key), " is not stored on storage node ", address_));
  }
  return BlobInfo{std::string(key), response.size(), response.sha256()};
}

absl::Status StorageClient::ListEach(std::string_view folder,
                                     const std::function<absl::Status(const BlobInfo&)>& visit) {
  return ListEach(folder, "", 0, visit);
}

absl::Status StorageClient::ListEach(std::string_view folder, std::string_view after, size_t limit,
                                     const std::function<absl::Status(const BlobInfo&)>& visit) {
  if (!folder.empty()) RETURN_IF_ERROR(common::ValidateFolder(folder));
  if (limit > UINT32_MAX) return absl::InvalidArgumentError("a list page is at most 2^32-1 blobs");
  grpc::ClientContext context;
  Prepare(context, options_, options_.stream_timeout);
  v1::ListRequest request;
  request.set_video_id(std::string(folder));  // the field carries a folder
  request.set_start_after(std::string(after));
  request.set_limit(static_cast<uint32_t>(limit));
  std::unique_ptr<grpc::ClientReader<v1::ListResponse>> reader =
      channel_->stub->List(&context, request);
  v1::ListResponse response;
  while (reader->Read(&response)) {
    for (const v1::Blob& blob : response.blobs()) {
      absl::Status visited = visit(FromProto(blob));
      if (!visited.ok()) {
        context.TryCancel();
        (void)reader->Finish();  // CANCELLED, by us; the visitor's error is the one to report
        return visited;
      }
    }
  }
  grpc::Status status = reader->Finish();
  return status.ok() ? absl::OkStatus() : NodeError(status, address_);
}

absl::StatusOr<std::vector<BlobInfo>> StorageClient::List(std::string_view folder) {
  return Collect(folder, "", 0);
}

absl::StatusOr<std::vector<BlobInfo>> StorageClient::ListPage(std::string_view folder,
                                                              std::string_view after,
                                                              size_t limit) {
  if (limit == 0) return absl::InvalidArgumentError("a list page holds at least one blob");
  return Collect(folder, after, limit);
}

absl::StatusOr<std::vector<BlobInfo>> StorageClient::Collect(std::string_view folder,
                                                             std::string_view after, size_t limit) {
  std::vector<BlobInfo> blobs;
  RETURN_IF_ERROR(ListEach(folder, after, limit, [&blobs](const BlobInfo& blob) {
    blobs.push_back(blob);
    return absl::OkStatus();
  }));
  return blobs;
}

absl::StatusOr<uint64_t> StorageClient::Delete(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  grpc::ClientContext context;
  Prepare(context, options_, options_.call_timeout);
  v1::DeleteRequest request;
  request.set_key(std::string(key));
  v1::DeleteResponse response;
  grpc::Status status = channel_->stub->Delete(&context, request, &response);
  if (!status.ok()) return NodeError(status, address_);
  return response.deleted_count();
}

absl::StatusOr<uint64_t> StorageClient::DeleteVideo(std::string_view folder) {
  RETURN_IF_ERROR(common::ValidateFolder(folder));
  grpc::ClientContext context;
  // A video may have thousands of files, each removed durably.
  Prepare(context, options_, options_.stream_timeout);
  v1::DeleteRequest request;
  request.set_video_id(std::string(folder));  // the field carries a folder
  v1::DeleteResponse response;
  grpc::Status status = channel_->stub->Delete(&context, request, &response);
  if (!status.ok()) return NodeError(status, address_);
  return response.deleted_count();
}

absl::StatusOr<NodeInfo> StorageClient::Info() {
  grpc::ClientContext context;
  Prepare(context, options_, options_.call_timeout);
  v1::InfoResponse response;
  grpc::Status status = channel_->stub->Info(&context, v1::InfoRequest(), &response);
  if (!status.ok()) return NodeError(status, address_);
  NodeInfo info{response.node_id(), response.bytes_used(), response.bytes_free(),
                response.blob_count()};
  info.corrupt_keys.assign(response.corrupt_keys().begin(), response.corrupt_keys().end());
  info.corrupt_count = response.corrupt_count();
  info.scrub_passes = response.scrub_passes();
  return info;
}

}  // namespace dvs::storage
