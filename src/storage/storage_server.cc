#include "storage/storage_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>
#include <pthread.h>

#include <csignal>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/grpc_security.h"
#include "common/secrets.h"
#include "common/status.h"
#include "spdlog/spdlog.h"
#include "storage/blob_store.h"
#include "storage/storage_metrics.h"
#include "storage/storage_service.h"

namespace dvs::storage {
namespace {

// Room for a 1 MiB chunk plus its framing, with margin for peers that batch.
constexpr int kMaxMessageBytes = 4 << 20;

// IPv6 literals need brackets in a gRPC target ("[::1]:8090").
std::string HostPort(const std::string& host, int port) {
  bool bare_ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return bare_ipv6 ? absl::StrCat("[", host, "]:", port) : absl::StrCat(host, ":", port);
}

}  // namespace

struct StorageServer::State {
  std::unique_ptr<BlobStore> store;
  std::unique_ptr<Scrubber> scrubber;
  std::unique_ptr<StorageService> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::string address;
  std::once_flag shutdown_once;
};

absl::Status CheckStorageConfig(const StorageConfig& config) {
  if (config.dir.empty()) return absl::InvalidArgumentError("the storage folder is not set");
  if (config.port < 0 || config.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("port ", config.port, " is out of range"));
  }
  if (config.cluster_token.empty() && !common::IsLoopbackHost(config.host)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to listen on ", config.host,
        " without a cluster token: anyone who reaches it could replace or delete every video. "
        "Pass --cluster-token-file FILE (or --cluster-token, DVS_CLUSTER_TOKEN), or listen on "
        "127.0.0.1"));
  }
  if (!(config.scrub_mb_per_s >= 0)) {
    return absl::InvalidArgumentError("--scrub-mb-per-s must be 0 (off) or more");
  }
  if (config.scrub_every.count() <= 0) {
    return absl::InvalidArgumentError("--scrub-every must be more than 0 seconds");
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls-cert and --tls-key (only one was given)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<StorageServer>> StorageServer::Start(const StorageConfig& config) {
  RETURN_IF_ERROR(CheckStorageConfig(config));
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                   common::ServerCredentialsFor(config.tls_cert_file, config.tls_key_file));
  auto state = std::make_unique<State>();
  ASSIGN_OR_RETURN(state->store, BlobStore::Open(config.dir));
  state->scrubber = std::make_unique<Scrubber>(
      *state->store, ScrubOptions{.bytes_per_s = config.scrub_mb_per_s * 1e6,
                                  .every = config.scrub_every,
                                  .state_file = config.dir / "scrub-state.json"});
  state->service =
      std::make_unique<StorageService>(*state->store, config.cluster_token, state->scrubber.get());

  grpc::ServerBuilder builder;
  builder.AddListeningPort(HostPort(config.host, config.port), credentials, &state->port);
  builder.RegisterService(state->service.get());
  // gRPC sets SO_REUSEPORT by default: a second server on a taken port would
  // start and silently share its traffic instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  // The web servers ping every second while their calls wait, to find a hung
  // node quickly (StorageClientOptions::keepalive_time); allow it, or gRPC
  // would answer the pings with GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 500);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  grpc::ResourceQuota quota("dvs-storage");
  quota.SetMaxThreads(config.max_threads);
  builder.SetResourceQuota(quota);
  state->server = builder.BuildAndStart();
  if (state->server == nullptr || state->port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", HostPort(config.host, config.port),
        config.tls_cert_file.empty() ? " (address in use, or not one of this host's?)"
                                     : " (address in use, or --tls-cert/--tls-key not a "
                                       "matching PEM certificate and key?)"));
  }
  state->address = HostPort(config.host, state->port);
  return std::unique_ptr<StorageServer>(new StorageServer(std::move(state)));
}

StorageServer::StorageServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

StorageServer::~StorageServer() { Shutdown(); }

int StorageServer::port() const { return state_->port; }

const std::string& StorageServer::address() const { return state_->address; }

absl::StatusOr<NodeInfo> StorageServer::Info() const {
  ASSIGN_OR_RETURN(NodeInfo info, state_->store->Info());
  info.corrupt_count = state_->store->CorruptKeys(0).second;
  return info;
}

ScrubStats StorageServer::scrub_stats() const { return state_->scrubber->stats(); }

void StorageServer::Shutdown(std::chrono::milliseconds grace) {
  std::call_once(state_->shutdown_once, [&] {
    state_->server->Shutdown(std::chrono::system_clock::now() + grace);
    state_->server->Wait();
  });
}

int RunStorageServer(const StorageConfig& config) {
  // Blocked here, before gRPC starts its threads (they inherit the mask; main
  // calls this before anything else starts one), the signals reach only the
  // sigwait below: no handler runs in signal context.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  if (absl::Status valid = CheckStorageConfig(config); !valid.ok()) {
    spdlog::error("dvs storage: {}", valid.message());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<StorageServer>> server = StorageServer::Start(config);
  if (!server.ok()) {
    spdlog::error("dvs storage: {}", server.status().message());
    return 1;
  }
  spdlog::info("dvs storage serving {} ({}; {}, {})", (*server)->address(), config.dir.string(),
               config.cluster_token.empty() ? "no cluster token" : "cluster token required",
               config.tls_cert_file.empty() ? "plaintext" : "TLS");
  absl::StatusOr<std::unique_ptr<StorageMetrics>> metrics = ServeStorageMetrics(**server, config);
  if (!metrics.ok()) {
    spdlog::error("dvs storage: cannot serve /metrics: {}", metrics.status().message());
    return 1;
  }
  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("dvs storage: {} received, shutting down", strsignal(signal));
  (*server)->Shutdown();
  spdlog::info("dvs storage stopped");
  return 0;
}

}  // namespace dvs::storage
