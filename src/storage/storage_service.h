// StorageService: the gRPC face (dvs.storage.v1.Storage) of a BlobStore.
//
// Every request is validated before it reaches the store (bad key or digest:
// InvalidArgument), memory stays bounded (a put or a get holds at most one
// 1 MiB chunk at a time, never a whole blob), and a Put whose stream is
// cancelled, breaks, or does not match its declared size and SHA-256 stores
// nothing. With a cluster token, every call is checked first (DESIGN §6).
//
// Thread-safe: gRPC calls the handlers from its thread pool; all state is in
// the (thread-safe) BlobStore. Includes gRPC: only server code includes this.
#pragma once

#include <string_view>

#include "common/grpc_security.h"
#include "proto/storage.grpc.pb.h"
#include "storage/blob_store.h"
#include "storage/scrubber.h"

namespace dvs::storage {

class StorageService final : public v1::Storage::Service {
 public:
  // `store` must outlive the service. With a non-empty `cluster_token`,
  // every call must carry `authorization: Bearer <cluster_token>`, or gets
  // UNAUTHENTICATED and touches nothing.
  // `scrubber`, when given, must outlive the service too; Info reports its
  // passes.
  explicit StorageService(BlobStore& store, std::string_view cluster_token = {},
                          const Scrubber* scrubber = nullptr)
      : store_(store), credential_(cluster_token, "cluster token"), scrubber_(scrubber) {}

  grpc::Status Put(grpc::ServerContext* context, grpc::ServerReader<v1::PutRequest>* reader,
                   v1::PutResponse* response) override;
  grpc::Status Get(grpc::ServerContext* context, const v1::GetRequest* request,
                   grpc::ServerWriter<v1::GetResponse>* writer) override;
  grpc::Status Stat(grpc::ServerContext* context, const v1::StatRequest* request,
                    v1::StatResponse* response) override;
  grpc::Status List(grpc::ServerContext* context, const v1::ListRequest* request,
                    grpc::ServerWriter<v1::ListResponse>* writer) override;
  grpc::Status Delete(grpc::ServerContext* context, const v1::DeleteRequest* request,
                      v1::DeleteResponse* response) override;
  grpc::Status Info(grpc::ServerContext* context, const v1::InfoRequest* request,
                    v1::InfoResponse* response) override;

 private:
  [[nodiscard]] absl::StatusOr<PutResult> ReceivePut(grpc::ServerContext* context,
                                                     grpc::ServerReader<v1::PutRequest>* reader);
  // The reader a Get asks for: a checked range, or a whole blob for a copy.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<BlobReader>> OpenRange(
      const v1::GetRequest& request);
  [[nodiscard]] absl::Status SendRange(grpc::ServerContext* context, const v1::GetRequest& request,
                                       grpc::ServerWriter<v1::GetResponse>* writer);

  BlobStore& store_;
  const common::BearerCheck credential_;
  const Scrubber* const scrubber_;
};

}  // namespace dvs::storage
