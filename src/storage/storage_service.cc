#include "storage/storage_service.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace dvs::storage {
namespace {

// Blobs per List message: small messages, few of them.
constexpr size_t kListBatch = 256;

const grpc::Status kClientGone(grpc::CANCELLED, "the client went away");

void ToProto(const BlobInfo& blob, v1::Blob* out) {
  out->set_key(blob.key);
  out->set_size(blob.size);
  out->set_sha256(blob.sha256);
}

v1::PutOutcome ToProto(PutOutcome outcome) {
  switch (outcome) {
    case PutOutcome::kCreated:
      return v1::PUT_OUTCOME_CREATED;
    case PutOutcome::kReplaced:
      return v1::PUT_OUTCOME_REPLACED;
    case PutOutcome::kUnchanged:
      return v1::PUT_OUTCOME_UNCHANGED;
  }
  return v1::PUT_OUTCOME_UNSPECIFIED;
}

// Server-side faults are logged here; a caller's mistakes (bad key, missing
// blob) are the caller's to report.
grpc::Status Reply(const absl::Status& status, std::string_view method) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kDataLoss:  // BlobReader logs it, with the path
      break;
    default:
      spdlog::warn("storage {}: {}", method, status.ToString());
  }
  return common::ToGrpcStatus(status);
}

}  // namespace

grpc::Status StorageService::Put(grpc::ServerContext* context,
                                 grpc::ServerReader<v1::PutRequest>* reader,
                                 v1::PutResponse* response) {
  if (grpc::Status auth = credential_.Check(*context); !auth.ok()) return auth;
  absl::StatusOr<PutResult> result = ReceivePut(context, reader);
  if (!result.ok()) return Reply(result.status(), "Put");
  ToProto(result->blob, response->mutable_blob());
  response->set_outcome(ToProto(result->outcome));
  return grpc::Status::OK;
}

absl::StatusOr<PutResult> StorageService::ReceivePut(grpc::ServerContext* context,
                                                     grpc::ServerReader<v1::PutRequest>* reader) {
  v1::PutRequest request;
  if (!reader->Read(&request)) {
    if (context->IsCancelled()) return absl::CancelledError("the put was cancelled");
    return absl::InvalidArgumentError("a put stream without a header");
  }
  if (!request.has_header()) {
    return absl::InvalidArgumentError("the first message of a put must be its header");
  }
  const v1::PutHeader& header = request.header();
  ASSIGN_OR_RETURN(
      std::unique_ptr<BlobWriter> writer,
      store_.BeginPut(header.key(), header.size(), header.sha256(), header.block_sha256()));
  // Dropping `writer` on any return below removes its temp file.
  while (reader->Read(&request)) {
    if (!request.has_chunk()) {
      return absl::InvalidArgumentError("a put has one header, in its first message");
    }
    if (request.chunk().size() > kBlockSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("put chunks are at most ", kBlockSize, " bytes"));
    }
    RETURN_IF_ERROR(writer->Append(request.chunk()));
  }
  // Read() also ends when the stream breaks; a cancelled put stores nothing
  // even if its bytes happen to be complete.
  if (context->IsCancelled()) return absl::CancelledError("the put was cancelled");
  return writer->Commit();
}

grpc::Status StorageService::Get(grpc::ServerContext* context, const v1::GetRequest* request,
                                 grpc::ServerWriter<v1::GetResponse>* writer) {
  if (grpc::Status auth = credential_.Check(*context); !auth.ok()) return auth;
  return Reply(SendRange(context, *request, writer), "Get");
}

absl::StatusOr<std::unique_ptr<BlobReader>> StorageService::OpenRange(
    const v1::GetRequest& request) {
  if (!request.for_copy()) return store_.Read(request.key(), request.offset(), request.length());
  if (request.offset() != 0 || request.length() != 0) {
    return absl::InvalidArgumentError(
        "a read for a copy is of the whole blob (no offset or length)");
  }
  return store_.ReadForCopy(request.key());
}

absl::Status StorageService::SendRange(grpc::ServerContext* context, const v1::GetRequest& request,
                                       grpc::ServerWriter<v1::GetResponse>* writer) {
  ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> reader, OpenRange(request));
  v1::GetResponse response;
  ToProto(reader->blob(), response.mutable_blob());
  response.set_range_length(reader->size());
  // The checksums go along with bytes that were not checked against them.
  if (!reader->checked()) response.set_block_sha256(reader->block_sha256());
  // The first message carries the first chunk too (checked, unless for a
  // copy), so a caller learns of damage at the start before it commits to
  // anything. The chunk's string is kept from message to message: the
  // reader fills it in place.
  for (bool first = true;; first = false) {
    RETURN_IF_ERROR(reader->NextInto(*response.mutable_chunk()));
    if (response.chunk().empty() && !first) return absl::OkStatus();
    if (!writer->Write(response)) return absl::CancelledError("the client went away");
    if (response.chunk().empty()) return absl::OkStatus();
    if (first) {
      response.clear_blob();
      response.clear_range_length();
      response.clear_block_sha256();
    }
  }
}

grpc::Status StorageService::Stat(grpc::ServerContext* context, const v1::StatRequest* request,
                                  v1::StatResponse* response) {
  if (grpc::Status auth = credential_.Check(*context); !auth.ok()) return auth;
  absl::StatusOr<BlobInfo> blob = store_.Stat(request->key());
  if (absl::IsNotFound(blob.status())) {
    response->set_found(false);
    return grpc::Status::OK;
  }
  if (!blob.ok()) return Reply(blob.status(), "Stat");
  response->set_found(true);
  response->set_size(blob->size);
  response->set_sha256(blob->sha256);
  return grpc::Status::OK;
}

grpc::Status StorageService::List(grpc::ServerContext* context, const v1::ListRequest* request,
                                  grpc::ServerWriter<v1::ListResponse>* writer) {
  if (grpc::Status auth = credential_.Check(*context); !auth.ok()) return auth;
  std::string after = request->start_after();
  // 0: every blob; a page otherwise.
  uint64_t left = request->limit() == 0 ? UINT64_MAX : request->limit();
  while (left > 0) {
    absl::StatusOr<std::vector<BlobInfo>> page = store_.ListPage(
        request->video_id(), after, static_cast<size_t>(std::min<uint64_t>(kListBatch, left)));
    if (!page.ok()) return Reply(page.status(), "List");
    if (page->empty()) return grpc::Status::OK;
    v1::ListResponse response;
    for (const BlobInfo& blob : *page) ToProto(blob, response.add_blobs());
    if (!writer->Write(response)) return kClientGone;
    after = page->back().key;
    left -= page->size();
  }
  return grpc::Status::OK;
}

grpc::Status StorageService::Delete(grpc::ServerContext* context, const v1::DeleteRequest* request,
                                    v1::DeleteResponse* response) {
  if (grpc::Status auth = credential_.Check(*context); !auth.ok()) return auth;
  absl::StatusOr<uint64_t> deleted;
  switch (request->target_case()) {
    case v1::DeleteRequest::kKey:
      deleted = store_.Delete(request->key());
      break;
    case v1::DeleteRequest::kVideoId:
      deleted = store_.DeleteVideo(request->video_id());
      break;
    default:
      deleted = absl::InvalidArgumentError("a delete names a key or a video_id");
  }
  if (!deleted.ok()) return Reply(deleted.status(), "Delete");
  response->set_deleted_count(*deleted);
  return grpc::Status::OK;
}

grpc::Status StorageService::Info(grpc::ServerContext* context, const v1::InfoRequest* request,
                                  v1::InfoResponse* response) {
  if (grpc::Status auth = credential_.Check(*context); !auth.ok()) return auth;
  absl::StatusOr<NodeInfo> info = store_.Info();
  if (!info.ok()) return Reply(info.status(), "Info");
  response->set_node_id(info->node_id);
  response->set_bytes_used(info->bytes_used);
  response->set_bytes_free(info->bytes_free);
  response->set_blob_count(info->blob_count);
  auto [corrupt_keys, corrupt_count] = store_.CorruptKeys(kMaxCorruptKeysReported);
  for (std::string& key : corrupt_keys) response->add_corrupt_keys(std::move(key));
  response->set_corrupt_count(corrupt_count);
  if (scrubber_ != nullptr) response->set_scrub_passes(scrubber_->stats().passes_completed);
  return grpc::Status::OK;
}

grpc::Status StorageService::Fetch(grpc::ServerContext* context, const v1::FetchRequest* request,
                                   v1::FetchResponse* response) {
  if (grpc::Status auth = credential_.Check(*context); !auth.ok()) return auth;
  absl::Status source_error;
  absl::StatusOr<PutResult> stored = ReceiveFetch(context, *request, source_error);
  if (!source_error.ok()) {
    response->set_source_code(static_cast<int32_t>(source_error.code()));
    response->set_source_message(std::string(source_error.message()));
    return grpc::Status::OK;
  }
  if (!stored.ok()) return Reply(stored.status(), "Fetch");
  ToProto(stored->blob, response->mutable_stored()->mutable_blob());
  response->mutable_stored()->set_outcome(ToProto(stored->outcome));
  return grpc::Status::OK;
}

absl::StatusOr<PutResult> StorageService::ReceiveFetch(grpc::ServerContext* context,
                                                       const v1::FetchRequest& request,
                                                       absl::Status& source_error) {
  RETURN_IF_ERROR(ValidateKey(request.key()));
  if (request.source().empty()) return absl::InvalidArgumentError("a fetch names its source node");
  std::shared_ptr<StorageClient> source = PeerClient(request.source(), request.tls_ca_pem());
  absl::StatusOr<std::unique_ptr<BlobStream>> stream = source->OpenCopySource(request.key());
  if (!stream.ok()) return source_error = stream.status();
  const BlobInfo blob = (*stream)->blob();
  ASSIGN_OR_RETURN(
      std::unique_ptr<BlobWriter> writer,
      store_.BeginPut(request.key(), blob.size, blob.sha256, (*stream)->block_sha256()));
  // Dropping `writer` on any return below removes its temp file.
  std::string chunk;
  while (true) {
    if (context->IsCancelled()) return absl::CancelledError("the fetch was cancelled");
    absl::StatusOr<bool> more = (*stream)->TakeChunk(chunk);
    if (!more.ok()) return source_error = more.status();
    if (!*more) break;
    RETURN_IF_ERROR(writer->Append(chunk));
  }
  absl::StatusOr<PutResult> stored = writer->Commit();
  // DataLoss: the bytes the source sent do not hash to its blob's SHA-256.
  if (absl::IsDataLoss(stored.status())) source_error = stored.status();
  return stored;
}

std::shared_ptr<StorageClient> StorageService::PeerClient(const std::string& address,
                                                          const std::string& tls_ca_pem) {
  // Enough for any cluster's nodes; a caller naming ever new addresses only
  // makes clients be made again.
  constexpr size_t kMaxPeers = 256;
  std::lock_guard lock(peers_mutex_);
  std::pair<std::string, std::string> key{address, tls_ca_pem};
  if (auto found = peers_.find(key); found != peers_.end()) return found->second;
  if (peers_.size() >= kMaxPeers) peers_.clear();  // calls in flight keep theirs
  StorageClientOptions options;
  options.cluster_token = cluster_token_;
  options.tls_ca_pem = tls_ca_pem;
  auto client = std::make_shared<StorageClient>(address, std::move(options));
  peers_.emplace(std::move(key), client);
  return client;
}

}  // namespace dvs::storage
