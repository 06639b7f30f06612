// The admin port's two gRPC services (DESIGN §7), both over one ClusterAdmin:
//   - TritonTubeAdminService: tritontube.VideoContentAdminService, wire-
//     compatible with the reference, so its clients keep working;
//   - AdminV1Service: dvs.admin.v1.Admin, the same with streamed progress,
//     plus Status and Repair.
// Both check the admin token (AdminToken) on every call, validate node
// addresses, and map errors with common::ToGrpcStatus.
//
// A ring change runs to its end even when its client disconnects or its
// deadline passes: ClusterAdmin cannot be interrupted safely, and the handler
// returns only after the change finished, so a server's shutdown waits for it.
//
// Thread-safe: gRPC calls the handlers from its thread pool; the services
// hold no mutable state (ClusterAdmin is thread-safe). Includes gRPC: only
// server code includes this.
#pragma once

#include <optional>
#include <string>

#include "common/grpc_security.h"
#include "content/network/cluster_admin.h"
#include "proto/admin.grpc.pb.h"
#include "proto/dvs_admin.grpc.pb.h"

namespace dvs::admin {

// The optional bearer token every admin call must carry as the metadata
// `authorization: Bearer <token>`. Immutable.
class AdminToken {
 public:
  // No token: every call is allowed (the admin port is loopback-only then,
  // unless the operator chose otherwise).
  AdminToken() : AdminToken(std::string()) {}
  // An empty token means none.
  explicit AdminToken(std::string token);

  // OK, or UNAUTHENTICATED "missing or wrong admin token". Compares in time
  // independent of where the presented token differs.
  grpc::Status Check(const grpc::ServerContext& context) const;

 private:
  common::BearerCheck check_;
};

class TritonTubeAdminService final : public tritontube::VideoContentAdminService::Service {
 public:
  // `cluster` must outlive the service.
  TritonTubeAdminService(content::ClusterAdmin& cluster, AdminToken token)
      : cluster_(cluster), token_(std::move(token)) {}

  // migrated_file_count is clamped to the int32 range of the reference API.
  grpc::Status AddNode(grpc::ServerContext* context, const tritontube::AddNodeRequest* request,
                       tritontube::AddNodeResponse* response) override;
  grpc::Status RemoveNode(grpc::ServerContext* context,
                          const tritontube::RemoveNodeRequest* request,
                          tritontube::RemoveNodeResponse* response) override;
  grpc::Status ListNodes(grpc::ServerContext* context, const tritontube::ListNodesRequest* request,
                         tritontube::ListNodesResponse* response) override;

 private:
  content::ClusterAdmin& cluster_;
  const AdminToken token_;
};

class AdminV1Service final : public v1::Admin::Service {
 public:
  // `cluster` must outlive the service.
  AdminV1Service(content::ClusterAdmin& cluster, AdminToken token)
      : cluster_(cluster), token_(std::move(token)) {}

  grpc::Status AddNode(grpc::ServerContext* context, const v1::NodeChangeRequest* request,
                       grpc::ServerWriter<v1::ChangeProgress>* writer) override;
  grpc::Status RemoveNode(grpc::ServerContext* context, const v1::NodeChangeRequest* request,
                          grpc::ServerWriter<v1::ChangeProgress>* writer) override;
  grpc::Status ListNodes(grpc::ServerContext* context, const v1::ListNodesRequest* request,
                         v1::ListNodesResponse* response) override;
  grpc::Status Status(grpc::ServerContext* context, const v1::StatusRequest* request,
                      v1::StatusResponse* response) override;
  grpc::Status Repair(grpc::ServerContext* context, const v1::RepairRequest* request,
                      grpc::ServerWriter<v1::ChangeProgress>* writer) override;

 private:
  content::ClusterAdmin& cluster_;
  const AdminToken token_;
};

}  // namespace dvs::admin
