#include "web/backends.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "admin/admin_server.h"
#include "admin/host_port.h"
#include "common/status.h"
#include "content/fs/fs_content_service.h"
#include "content/network/cluster_admin.h"
#include "content/network/network_content_service.h"
#include "metadata/sqlite/sqlite_metadata_service.h"
#include "spdlog/spdlog.h"

namespace dvs::web {
namespace {

// The ring state lives with the metadata, so a restarted web server (or,
// with etcd, every web server) finds the cluster as it was.
class MetadataRingStore final : public content::RingStateStore {
 public:
  explicit MetadataRingStore(metadata::VideoMetadataService& metadata) : metadata_(metadata) {}
  absl::StatusOr<std::optional<std::string>> Load() override { return metadata_.LoadRingState(); }
  absl::Status Store(std::string_view state) override { return metadata_.StoreRingState(state); }

 private:
  metadata::VideoMetadataService& metadata_;
};

absl::Status CheckForm(const std::vector<std::string>& backends) {
  if (backends.size() != 4) {
    return absl::InvalidArgumentError(
        "expected METADATA_TYPE METADATA_OPTIONS CONTENT_TYPE CONTENT_OPTIONS, e.g. `sqlite "
        "./data/metadata.db fs ./data/content`");
  }
  if (backends[0] == "etcd") {
    return absl::UnimplementedError("the \"etcd\" metadata backend is not available in this build");
  }
  if (backends[0] != "sqlite") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown metadata type \"", backends[0], "\": use sqlite or etcd"));
  }
  if (backends[2] != "fs" && backends[2] != "nw") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown content type \"", backends[2], "\": use fs or nw"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backends>> Backends::Open(const WebConfig& config) {
  RETURN_IF_ERROR(CheckForm(config.backends));
  std::unique_ptr<Backends> backends(new Backends());
  ASSIGN_OR_RETURN(backends->metadata_, metadata::SqliteMetadataService::Open(config.backends[1]));
  if (config.backends[2] == "fs") {
    ASSIGN_OR_RETURN(backends->fs_content_, content::FsContentService::Open(config.backends[3]));
    backends->content_ = backends->fs_content_.get();
  } else {
    RETURN_IF_ERROR(backends->OpenNetwork(config));
  }
  backends->description_ = absl::StrCat("metadata: ", config.backends[0], " ", config.backends[1],
                                        ", content: ", config.backends[2], " ", config.backends[3]);
  return backends;
}

absl::Status Backends::OpenNetwork(const WebConfig& config) {
  std::vector<std::string> parts = absl::StrSplit(config.backends[3], ',', absl::SkipEmpty());
  if (parts.size() < 2) {
    return absl::InvalidArgumentError(
        "nw needs ADMIN_HOST:PORT,NODE[,NODE...], e.g. 127.0.0.1:8081,127.0.0.1:8090");
  }
  ASSIGN_OR_RETURN(admin::HostPort admin_address, admin::ParseHostPort(parts[0], true));
  for (size_t i = 1; i < parts.size(); ++i) {
    RETURN_IF_ERROR(admin::ParseHostPort(parts[i]).status());
  }
  ring_store_ = std::make_unique<MetadataRingStore>(*metadata_);
  content::NetworkContentOptions options;
  options.seed_nodes.assign(parts.begin() + 1, parts.end());
  options.vnodes = config.vnodes;
  options.replicas = config.replicas;
  ASSIGN_OR_RETURN(network_content_, content::NetworkContentService::Open(options, *ring_store_));
  content_ = network_content_.get();
  admin_server_ = std::make_unique<admin::AdminServer>(
      *network_content_, admin::AdminServerOptions{.host = admin_address.host,
                                                   .port = admin_address.port,
                                                   .allow_remote = config.admin_allow_remote,
                                                   .token = config.admin_token});
  RETURN_IF_ERROR(admin_server_->Start());
  spdlog::info("admin gRPC serving {} (ring: {})", admin_server_->address(),
               absl::StrJoin(network_content_->ring_state().nodes, ", "));
  return absl::OkStatus();
}

Backends::~Backends() {
  if (admin_server_) admin_server_->Stop();
}

std::string Backends::Describe() const { return description_; }

}  // namespace dvs::web
