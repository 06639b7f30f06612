// StorageService: the gRPC face (dvs.storage.v1.Storage) of a BlobStore.
//
// Every request is validated before it reaches the store (bad key or digest:
// InvalidArgument), memory stays bounded (a put or a get holds at most one
// 1 MiB chunk at a time, never a whole blob), and a Put whose stream is
// cancelled, breaks, or does not match its declared size and SHA-256 stores
// nothing. With a cluster token, every call is checked first (DESIGN §6).
// Fetch copies a blob from another node straight onto this one, so the bytes
// of a migration or repair do not pass through the web server.
//
// Thread-safe: gRPC calls the handlers from its thread pool; all state is in
// the (thread-safe) BlobStore. Includes gRPC: only server code includes this.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "common/grpc_security.h"
#include "proto/storage.grpc.pb.h"
#include "storage/blob_store.h"
#include "storage/scrubber.h"
#include "storage/storage_client.h"

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
      : store_(store),
        credential_(cluster_token, "cluster token"),
        cluster_token_(cluster_token),
        scrubber_(scrubber) {}

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
  grpc::Status Fetch(grpc::ServerContext* context, const v1::FetchRequest* request,
                     v1::FetchResponse* response) override;

 private:
  [[nodiscard]] absl::StatusOr<PutResult> ReceivePut(grpc::ServerContext* context,
                                                     grpc::ServerReader<v1::PutRequest>* reader);
  // The reader a Get asks for: a checked range, or a whole blob for a copy.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<BlobReader>> OpenRange(
      const v1::GetRequest& request);
  [[nodiscard]] absl::Status SendRange(grpc::ServerContext* context, const v1::GetRequest& request,
                                       grpc::ServerWriter<v1::GetResponse>* writer);

  // Fetch's copy; a failure that is the source's goes to `source_error`
  // (and is returned too).
  [[nodiscard]] absl::StatusOr<PutResult> ReceiveFetch(grpc::ServerContext* context,
                                                       const v1::FetchRequest& request,
                                                       absl::Status& source_error);
  // A client of the node `address`, made once and kept for the next Fetch.
  std::shared_ptr<StorageClient> PeerClient(const std::string& address,
                                            const std::string& tls_ca_pem);

  BlobStore& store_;
  const common::BearerCheck credential_;
  const std::string cluster_token_;  // also what Fetch presents to the source
  const Scrubber* const scrubber_;
  std::mutex peers_mutex_;
  // By address and CA; dropped all at once when they grow past a bound.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<StorageClient>>
      peers_;  // GUARDED_BY(peers_mutex_)
};

}  // namespace dvs::storage
