#include "admin/admin_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>

#include <atomic>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "admin/admin_service.h"
#include "admin/host_port.h"
#include "common/grpc_security.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace dvs::admin {
namespace {

constexpr int kMaxPort = 65535;

absl::Status CheckOptions(const AdminServerOptions& options) {
  if (options.port < 0 || options.port > kMaxPort) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin port ", options.port, " is out of range"));
  }
  if (options.host.empty()) return absl::InvalidArgumentError("the admin host is empty");
  if (!options.allow_remote && !IsLoopbackHost(options.host)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the admin service would listen on ", common::AsAbsl(options.host),
        ", which other machines can reach; it listens on localhost only unless you pass "
        "--admin-allow-remote (and then set an admin token)"));
  }
  if (options.allow_remote && options.token.empty()) {
    return absl::InvalidArgumentError(
        "--admin-allow-remote needs an admin token (--admin-token or DVS_ADMIN_TOKEN): without "
        "one, anyone who reaches the admin port could change the ring");
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls-cert and --tls-key (only one was given)");
  }
  return absl::OkStatus();
}

}  // namespace

struct AdminServer::State {
  State(content::ClusterAdmin& cluster, AdminServerOptions options)
      : options(std::move(options)),
        tritontube_service(cluster, AdminToken(this->options.token)),
        v1_service(cluster, AdminToken(this->options.token)) {}

  const AdminServerOptions options;
  TritonTubeAdminService tritontube_service;
  AdminV1Service v1_service;

  // Atomic so that port() does not wait while Stop() waits for a ring change.
  std::atomic<int> port = 0;
  // State below is protected by mutex. Start and Stop hold it throughout, so
  // they never interleave.
  std::mutex mutex;
  std::unique_ptr<grpc::Server> server;
  bool stopped = false;
};

AdminServer::AdminServer(content::ClusterAdmin& cluster, AdminServerOptions options)
    : state_(std::make_unique<State>(cluster, std::move(options))) {}

AdminServer::~AdminServer() { Stop(); }

absl::Status AdminServer::Start() {
  const AdminServerOptions& options = state_->options;
  if (absl::Status valid = CheckOptions(options); !valid.ok()) return valid;
  std::lock_guard lock(state_->mutex);
  if (state_->server != nullptr || state_->stopped) {
    return absl::FailedPreconditionError("the admin server was started before");
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      common::ServerCredentialsFor(options.tls_cert_file, options.tls_key_file);
  if (!credentials.ok()) return credentials.status();
  std::string listen_address = JoinHostPort(options.host, options.port);
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(listen_address, *credentials, &bound_port);
  builder.RegisterService(&state_->tritontube_service);
  builder.RegisterService(&state_->v1_service);
  grpc::ResourceQuota quota("dvs-admin");
  quota.SetMaxThreads(options.max_threads);
  builder.SetResourceQuota(quota);
  state_->server = builder.BuildAndStart();
  if (state_->server == nullptr || bound_port == 0) {
    state_->server.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen_address));
  }
  state_->port = bound_port;
  spdlog::info("admin service listening on {}", JoinHostPort(options.host, bound_port));
  return absl::OkStatus();
}

int AdminServer::port() const { return state_->port; }

std::string AdminServer::address() const { return JoinHostPort(state_->options.host, port()); }

void AdminServer::Stop(std::chrono::milliseconds grace) {
  std::lock_guard lock(state_->mutex);
  state_->stopped = true;
  if (state_->server == nullptr) return;
  state_->server->Shutdown(std::chrono::system_clock::now() + grace);
  state_->server->Wait();
  state_->server.reset();
}

}  // namespace dvs::admin
