#include "admin/admin_service.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "admin/host_port.h"
#include "admin/progress_relay.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace dvs::admin {
namespace {

constexpr std::string_view kDonePhase = "done";

int32_t ClampToInt32(uint64_t count) {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int32_t>::max());
  return static_cast<int32_t>(count > kMax ? kMax : count);
}

// Node addresses are checked here, at the edge, before they reach the ring.
absl::Status CheckNodeAddress(std::string_view address) {
  absl::StatusOr<HostPort> parsed = ParseHostPort(address);
  if (parsed.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("node address: ", parsed.status().message()));
}

void IgnoreProgress(const content::ClusterProgress&) {}

v1::ChangeProgress ToProto(const content::ClusterProgress& progress) {
  v1::ChangeProgress message;
  message.set_phase(progress.phase);
  message.set_done(progress.done);
  message.set_total(progress.total);
  message.set_message(progress.message);
  message.set_bytes_copied(progress.bytes_copied);
  return message;
}

v1::ChangeProgress NodeChangeDone(uint64_t migrated_file_count) {
  v1::ChangeProgress message;
  message.set_phase(std::string(kDonePhase));
  message.set_done(migrated_file_count);
  message.set_total(migrated_file_count);
  message.mutable_node_change()->set_migrated_file_count(migrated_file_count);
  return message;
}

v1::ChangeProgress RepairDone(const content::RepairReport& report) {
  v1::ChangeProgress message;
  message.set_phase(std::string(kDonePhase));
  message.set_done(report.keys_checked);
  message.set_total(report.keys_checked);
  v1::RepairResult* result = message.mutable_repair();
  result->set_keys_checked(report.keys_checked);
  result->set_copies_made(report.copies_made);
  result->set_copies_deleted(report.copies_deleted);
  for (const std::string& key : report.lost_keys) result->add_lost_keys(key);
  return message;
}

void FillRing(const content::RingState& state, v1::Ring* ring) {
  ring->set_epoch(state.epoch);
  for (const std::string& node : state.nodes) ring->add_nodes(node);
  ring->set_vnodes(state.vnodes);
  ring->set_replicas(state.replicas);
  if (!state.transition) return;
  v1::RingTransition* transition = ring->mutable_transition();
  transition->set_kind(std::string(content::TransitionKindName(state.transition->kind)));
  transition->set_node(state.transition->node);
  for (const std::string& node : state.transition->target_nodes) transition->add_target_nodes(node);
  transition->set_started_at_ms(state.transition->started_at_ms);
}

void FillNodeHealth(const content::NodeStatus& node, v1::NodeHealth* health) {
  health->set_address(node.address);
  health->set_healthy(node.healthy);
  health->set_error(node.error);
  health->set_node_id(node.node_id);
  health->set_bytes_used(node.bytes_used);
  health->set_bytes_free(node.bytes_free);
  health->set_blob_count(node.blob_count);
}

// An operation that reports progress and ends with the stream's last message.
using StreamedOperation =
    std::function<absl::StatusOr<v1::ChangeProgress>(const content::ClusterProgressCallback&)>;

// Runs `operation` on its own thread while this thread streams its progress.
// The operation never waits on the client: a slow client misses intermediate
// updates, and a client that is gone (cancelled, deadline passed) gets none,
// but the operation still runs to its end before this returns.
grpc::Status RunStreamed(const StreamedOperation& operation,
                         grpc::ServerWriter<v1::ChangeProgress>* writer) {
  ProgressRelay relay;
  std::optional<absl::StatusOr<v1::ChangeProgress>> outcome;
  std::thread worker([&] {
    outcome = operation([&relay](const content::ClusterProgress& p) { relay.Publish(p); });
    relay.Close();
  });
  bool client_listening = true;
  while (std::optional<content::ClusterProgress> update = relay.Next()) {
    if (client_listening) client_listening = writer->Write(ToProto(*update));
  }
  worker.join();
  if (!outcome->ok()) return common::ToGrpcStatus(outcome->status());
  if (!client_listening || !writer->Write(**outcome)) {
    spdlog::info("admin: the client left before the result; the operation finished anyway");
  }
  return grpc::Status::OK;
}

enum class NodeChange { kAdd, kRemove };

// Validates, runs and logs one ring change: changes are rare and worth an
// audit trail with who asked.
absl::StatusOr<uint64_t> ChangeNode(content::ClusterAdmin& cluster, NodeChange change,
                                    const std::string& node, const std::string& peer,
                                    const content::ClusterProgressCallback& progress) {
  RETURN_IF_ERROR(CheckNodeAddress(node));
  std::string_view verb = change == NodeChange::kAdd ? "add" : "remove";
  spdlog::info("admin: {} asks to {} {}", peer, verb, node);
  absl::StatusOr<uint64_t> migrated = change == NodeChange::kAdd
                                          ? cluster.AddNode(node, progress)
                                          : cluster.RemoveNode(node, progress);
  if (migrated.ok()) {
    spdlog::info("admin: {} {} done, {} files migrated", verb, node, *migrated);
  } else {
    spdlog::warn("admin: {} {} failed: {}", verb, node, migrated.status().message());
  }
  return migrated;
}

grpc::Status StreamNodeChange(content::ClusterAdmin& cluster, NodeChange change,
                              const grpc::ServerContext& context,
                              const v1::NodeChangeRequest& request,
                              grpc::ServerWriter<v1::ChangeProgress>* writer) {
  return RunStreamed(
      [&](const content::ClusterProgressCallback& progress) -> absl::StatusOr<v1::ChangeProgress> {
        ASSIGN_OR_RETURN(uint64_t migrated, ChangeNode(cluster, change, request.node_address(),
                                                       context.peer(), progress));
        return NodeChangeDone(migrated);
      },
      writer);
}

}  // namespace

AdminToken::AdminToken(std::string token) : check_(token, "admin token") {}

grpc::Status AdminToken::Check(const grpc::ServerContext& context) const {
  return check_.Check(context);
}

// --- tritontube.VideoContentAdminService ---

grpc::Status TritonTubeAdminService::AddNode(grpc::ServerContext* context,
                                             const tritontube::AddNodeRequest* request,
                                             tritontube::AddNodeResponse* response) {
  if (grpc::Status auth = token_.Check(*context); !auth.ok()) return auth;
  absl::StatusOr<uint64_t> migrated = ChangeNode(
      cluster_, NodeChange::kAdd, request->node_address(), context->peer(), IgnoreProgress);
  if (!migrated.ok()) return common::ToGrpcStatus(migrated.status());
  response->set_migrated_file_count(ClampToInt32(*migrated));
  return grpc::Status::OK;
}

grpc::Status TritonTubeAdminService::RemoveNode(grpc::ServerContext* context,
                                                const tritontube::RemoveNodeRequest* request,
                                                tritontube::RemoveNodeResponse* response) {
  if (grpc::Status auth = token_.Check(*context); !auth.ok()) return auth;
  absl::StatusOr<uint64_t> migrated = ChangeNode(
      cluster_, NodeChange::kRemove, request->node_address(), context->peer(), IgnoreProgress);
  if (!migrated.ok()) return common::ToGrpcStatus(migrated.status());
  response->set_migrated_file_count(ClampToInt32(*migrated));
  return grpc::Status::OK;
}

grpc::Status TritonTubeAdminService::ListNodes(grpc::ServerContext* context,
                                               const tritontube::ListNodesRequest* request,
                                               tritontube::ListNodesResponse* response) {
  if (grpc::Status auth = token_.Check(*context); !auth.ok()) return auth;
  absl::StatusOr<std::vector<std::string>> nodes = cluster_.ListNodes();
  if (!nodes.ok()) return common::ToGrpcStatus(nodes.status());
  for (const std::string& node : *nodes) response->add_nodes(node);
  return grpc::Status::OK;
}

// --- dvs.admin.v1.Admin ---

grpc::Status AdminV1Service::AddNode(grpc::ServerContext* context,
                                     const v1::NodeChangeRequest* request,
                                     grpc::ServerWriter<v1::ChangeProgress>* writer) {
  if (grpc::Status auth = token_.Check(*context); !auth.ok()) return auth;
  return StreamNodeChange(cluster_, NodeChange::kAdd, *context, *request, writer);
}

grpc::Status AdminV1Service::RemoveNode(grpc::ServerContext* context,
                                        const v1::NodeChangeRequest* request,
                                        grpc::ServerWriter<v1::ChangeProgress>* writer) {
  if (grpc::Status auth = token_.Check(*context); !auth.ok()) return auth;
  return StreamNodeChange(cluster_, NodeChange::kRemove, *context, *request, writer);
}

grpc::Status AdminV1Service::ListNodes(grpc::ServerContext* context,
                                       const v1::ListNodesRequest* request,
                                       v1::ListNodesResponse* response) {
  if (grpc::Status auth = token_.Check(*context); !auth.ok()) return auth;
  absl::StatusOr<std::vector<std::string>> nodes = cluster_.ListNodes();
  if (!nodes.ok()) return common::ToGrpcStatus(nodes.status());
  for (const std::string& node : *nodes) response->add_nodes(node);
  return grpc::Status::OK;
}

grpc::Status AdminV1Service::Status(grpc::ServerContext* context, const v1::StatusRequest* request,
                                    v1::StatusResponse* response) {
  if (grpc::Status auth = token_.Check(*context); !auth.ok()) return auth;
  absl::StatusOr<content::ClusterStatus> status = cluster_.Status();
  if (!status.ok()) return common::ToGrpcStatus(status.status());
  FillRing(status->ring, response->mutable_ring());
  for (const content::NodeStatus& node : status->nodes) FillNodeHealth(node, response->add_nodes());
  return grpc::Status::OK;
}

grpc::Status AdminV1Service::Repair(grpc::ServerContext* context, const v1::RepairRequest* request,
                                    grpc::ServerWriter<v1::ChangeProgress>* writer) {
  if (grpc::Status auth = token_.Check(*context); !auth.ok()) return auth;
  spdlog::info("admin: {} asks for a repair", context->peer());
  return RunStreamed(
      [&](const content::ClusterProgressCallback& progress) -> absl::StatusOr<v1::ChangeProgress> {
        ASSIGN_OR_RETURN(content::RepairReport report, cluster_.Repair(progress));
        spdlog::info("admin: repair done: {} keys checked, {} copies made, {} deleted, {} lost",
                     report.keys_checked, report.copies_made, report.copies_deleted,
                     report.lost_keys.size());
        return RepairDone(report);
      },
      writer);
}

}  // namespace dvs::admin
