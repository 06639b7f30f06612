#include "web/backends.h"

#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "admin/admin_server.h"
#include "admin/host_port.h"
#include "common/secrets.h"
#include "common/status.h"
#include "common/strings.h"
#include "content/cache/cached_content_service.h"
#include "content/fs/fs_content_service.h"
#include "content/network/cluster_admin.h"
#include "content/network/network_content_service.h"
#include "content/s3/s3_content_service.h"
#include "metadata/cache/cached_metadata_service.h"
#include "metadata/etcd/etcd_lock.h"
#include "metadata/etcd/etcd_metadata_service.h"
#include "metadata/sqlite/sqlite_metadata_service.h"
#include "spdlog/spdlog.h"
#include "web/content_records.h"

namespace dvs::web {
namespace {

// After a ring change commits, how long its old copies stay for the other web
// servers to hear of the commit (their watches deliver in milliseconds).
constexpr std::chrono::seconds kSharedCleanupDelay{2};

// In fs mode only files up to this size are cached in memory (see Open).
constexpr uint64_t kFsCacheMaxEntryBytes = 256 << 10;

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

// With etcd, every write of a running ring change is fenced: an etcd Txn
// that stores the state only while the change lock's key is still held by
// the writer's lease (EtcdClient::PutIfLeaseHolds).
class EtcdRingStore final : public content::RingStateStore {
 public:
  EtcdRingStore(std::shared_ptr<metadata::EtcdClient> client, std::string key)
      : client_(std::move(client)), key_(std::move(key)) {}
  absl::StatusOr<std::optional<std::string>> Load() override {
    ASSIGN_OR_RETURN(std::optional<metadata::EtcdClient::Value> value, client_->Get(key_));
    if (!value.has_value()) return std::optional<std::string>();
    return std::optional<std::string>(std::move(value->value));
  }
  absl::Status Store(std::string_view state) override { return client_->Put(key_, state); }
  absl::Status StoreFenced(std::string_view state, const content::RingChangeLease& lease) override {
    content::RingChangeFence fence = lease.fence();
    if (fence.lease_id == 0) return RingStateStore::StoreFenced(state, lease);
    ASSIGN_OR_RETURN(metadata::EtcdClient::WriteResult put,
                     client_->PutIfLeaseHolds(key_, state, fence.lock_key, fence.lease_id));
    return put.written ? absl::OkStatus() : LockMovedError();
  }

 private:
  const std::shared_ptr<metadata::EtcdClient> client_;
  const std::string key_;
};

absl::Status CheckForm(const std::vector<std::string>& backends) {
  if (backends.size() != 4) {
    return absl::InvalidArgumentError(
        "expected METADATA_TYPE METADATA_OPTIONS CONTENT_TYPE CONTENT_OPTIONS, e.g. `sqlite "
        "./data/metadata.db fs ./data/content`");
  }
  if (backends[0] != "sqlite" && backends[0] != "etcd") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown metadata type \"", backends[0], "\": use sqlite or etcd"));
  }
  if (backends[2] != "fs" && backends[2] != "nw" && backends[2] != "s3") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown content type \"", backends[2], "\": use fs, nw or s3"));
  }
  return absl::OkStatus();
}

// Ring changes from every web server on one etcd take turns: the lock is a
// key in etcd held under a lease (metadata::EtcdLock).
class EtcdRingChangeLock final : public content::RingChangeLock {
 public:
  EtcdRingChangeLock(std::shared_ptr<metadata::EtcdClient> client, std::string key)
      : lock_(std::move(client), std::move(key)), holder_(DescribeThisProcess()) {}

  absl::StatusOr<std::unique_ptr<content::RingChangeLease>> TryAcquire(
      std::string_view change) override {
    ASSIGN_OR_RETURN(std::unique_ptr<metadata::EtcdLock::Held> held,
                     lock_.TryAcquire(absl::StrCat(common::AsAbsl(change), " on ", holder_)));
    return std::unique_ptr<content::RingChangeLease>(new Lease(std::move(held), lock_.key()));
  }

 private:
  class Lease final : public content::RingChangeLease {
   public:
    Lease(std::unique_ptr<metadata::EtcdLock::Held> held, std::string lock_key)
        : held_(std::move(held)), lock_key_(std::move(lock_key)) {}
    bool lost() const override { return held_->lost(); }
    content::RingChangeFence fence() const override {
      return content::RingChangeFence{.lock_key = lock_key_, .lease_id = held_->lease_id()};
    }

   private:
    std::unique_ptr<metadata::EtcdLock::Held> held_;
    const std::string lock_key_;
  };

  // "web server on HOST (pid N)", so a refusal says where the change runs.
  static std::string DescribeThisProcess() {
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
    return absl::StrCat("web server on ", host[0] != '\0' ? host : "?", " (pid ", getpid(), ")");
  }

  metadata::EtcdLock lock_;
  const std::string holder_;
};

// The etcd client's auth and TLS, from the flags (PEM files read here).
absl::StatusOr<metadata::EtcdClient::Options> EtcdOptions(const WebConfig& config) {
  metadata::EtcdClient::Options options;
  options.user = config.etcd_user;
  options.password = config.etcd_password;
  if (options.user.empty() != options.password.empty()) {
    return absl::InvalidArgumentError(
        "etcd auth needs both --etcd-user and --etcd-password (or DVS_ETCD_PASSWORD)");
  }
  if (config.etcd_cert_file.empty() != config.etcd_key_file.empty()) {
    return absl::InvalidArgumentError(
        "an etcd client certificate needs both --etcd-cert and "
        "--etcd-key");
  }
  if (!config.etcd_ca_file.empty()) {
    ASSIGN_OR_RETURN(options.tls_ca_pem, common::ReadPemFile(config.etcd_ca_file, "--etcd-ca"));
  }
  if (!config.etcd_cert_file.empty()) {
    ASSIGN_OR_RETURN(options.tls_cert_pem,
                     common::ReadPemFile(config.etcd_cert_file, "--etcd-cert"));
    ASSIGN_OR_RETURN(options.tls_key_pem, common::ReadPemFile(config.etcd_key_file, "--etcd-key"));
  }
  return options;
}

// An S3 credential from the environment: the variable `name`, else the file
// named by `name`_FILE.
absl::StatusOr<std::string> S3Secret(const std::string& name) {
  if (const char* value = std::getenv(name.c_str()); value != nullptr && *value != '\0') {
    return std::string(value);
  }
  std::string file_variable = absl::StrCat(name, "_FILE");
  if (const char* file = std::getenv(file_variable.c_str()); file != nullptr && *file != '\0') {
    return common::ReadTokenFile(file, file_variable);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("s3 content needs ", name, " (or ", file_variable, ", a file holding it)"));
}

// The whole number in the environment variable `name`, from `min` to `max`;
// nullopt when it is unset or empty.
absl::StatusOr<std::optional<int>> WholeNumberFromEnv(const char* name, int min, int max) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return std::nullopt;
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < min || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " \"", text, "\" must be a whole number from ", min, " to ", max));
  }
  return value;
}

std::chrono::milliseconds SecondsToMs(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

std::vector<std::string> SplitList(std::string_view list) {
  return absl::StrSplit(common::AsAbsl(list), ',', absl::SkipWhitespace());
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backends>> Backends::Open(const WebConfig& config) {
  RETURN_IF_ERROR(CheckForm(config.backends));
  std::unique_ptr<Backends> backends(new Backends());
  RETURN_IF_ERROR(backends->OpenMetadata(config));
  if (config.backends[2] == "fs") {
    ASSIGN_OR_RETURN(backends->fs_content_, content::FsContentService::Open(config.backends[3]));
    backends->content_ = backends->fs_content_.get();
  } else if (config.backends[2] == "s3") {
    RETURN_IF_ERROR(backends->OpenS3(config));
  } else {
    RETURN_IF_ERROR(backends->OpenNetwork(config));
  }
  if (config.cache_mb > 0) {
    content::ContentCacheOptions options{.max_bytes = static_cast<uint64_t>(config.cache_mb) << 20};
    // A local folder's segments are sent with sendfile, straight from the page
    // cache, which beats a copy from memory; small files (manifests,
    // playlists) are still answered from memory without a thread hop.
    if (backends->fs_content_ != nullptr) options.max_entry_bytes = kFsCacheMaxEntryBytes;
    backends->cache_ =
        std::make_unique<content::CachedContentService>(*backends->content_, options);
    backends->content_ = backends->cache_.get();
  }
  backends->description_ = absl::StrCat("metadata: ", config.backends[0], " ", config.backends[1],
                                        ", content: ", config.backends[2], " ", config.backends[3]);
  return backends;
}

absl::Status Backends::OpenMetadata(const WebConfig& config) {
  if (config.backends[0] == "sqlite") {
    ASSIGN_OR_RETURN(std::unique_ptr<metadata::SqliteMetadataService> sqlite,
                     metadata::SqliteMetadataService::Open(config.backends[1]));
    // Only this process writes the database, so records can be kept in
    // memory. (Records in etcd change under every web server: not cached.)
    metadata_ = std::make_unique<metadata::CachedMetadataService>(std::move(sqlite));
    return absl::OkStatus();
  }
  std::vector<std::string> endpoints = SplitList(config.backends[1]);
  for (const std::string& endpoint : endpoints) {
    if (absl::Status valid = admin::ParseHostPort(endpoint).status(); !valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("etcd endpoint \"", endpoint, "\": ", valid.message(),
                       " (expected HOST:PORT[,HOST:PORT...], e.g. 127.0.0.1:2379)"));
    }
  }
  ASSIGN_OR_RETURN(metadata::EtcdClient::Options etcd_options, EtcdOptions(config));
  ASSIGN_OR_RETURN(etcd_, metadata::EtcdClient::Create(std::move(endpoints), etcd_options));
  if (config.etcd_prefix.empty() || config.etcd_prefix.front() != '/' ||
      config.etcd_prefix.back() != '/') {
    return absl::InvalidArgumentError(absl::StrCat("--etcd-prefix \"", config.etcd_prefix,
                                                   "\" must start and end with '/', e.g. /dvs/"));
  }
  // Fails at start-up, not at the first request, when etcd is out of reach:
  // the records are loaded now.
  absl::StatusOr<std::unique_ptr<metadata::EtcdMetadataService>> etcd =
      metadata::EtcdMetadataService::Open(etcd_, config.etcd_prefix);
  if (!etcd.ok()) {
    return absl::UnavailableError(absl::StrCat("etcd at ", config.backends[1],
                                               " does not answer: ", etcd.status().message()));
  }
  metadata_ = std::move(*etcd);
  if (absl::Status health = metadata_->CheckHealth(); !health.ok()) {
    spdlog::warn("etcd at {} is not ready: {}", config.backends[1], health.message());
  }
  return absl::OkStatus();
}

absl::Status Backends::OpenNetwork(const WebConfig& config) {
  std::vector<std::string> parts = SplitList(config.backends[3]);
  if (parts.size() < 2) {
    return absl::InvalidArgumentError(
        "nw needs ADMIN_HOST:PORT,NODE[,NODE...], e.g. 127.0.0.1:8081,127.0.0.1:8090");
  }
  ASSIGN_OR_RETURN(admin::HostPort admin_address, admin::ParseHostPort(parts[0], true));
  for (size_t i = 1; i < parts.size(); ++i) {
    RETURN_IF_ERROR(admin::ParseHostPort(parts[i]).status());
  }
  if (etcd_ != nullptr) {
    ring_store_ = std::make_unique<EtcdRingStore>(
        etcd_, absl::StrCat(config.etcd_prefix, metadata::EtcdMetadataService::kRingKey));
  } else {
    ring_store_ = std::make_unique<MetadataRingStore>(*metadata_);
  }
  content::NetworkContentOptions options;
  options.seed_nodes.assign(parts.begin() + 1, parts.end());
  options.vnodes = config.vnodes;
  options.replicas = config.replicas;
  options.copy_parallelism = config.copy_parallelism;
  options.client.cluster_token = config.cluster_token;
  if (!config.tls_ca_file.empty()) {
    ASSIGN_OR_RETURN(options.client.tls_ca_pem,
                     common::ReadPemFile(config.tls_ca_file, "--tls-ca"));
  }
  if (etcd_ != nullptr) {
    ring_lock_ =
        std::make_shared<EtcdRingChangeLock>(etcd_, absl::StrCat(config.etcd_prefix, "ring-lock"));
    options.change_lock = ring_lock_;
    options.shared_store = true;
    options.cleanup_delay = kSharedCleanupDelay;
  }
  // Tests aim a crash into a running ring change with this.
  if (const char* pause = std::getenv("DVS_TEST_RING_CHANGE_PAUSE_MS"); pause != nullptr) {
    options.test_pause_after_begin = std::chrono::milliseconds(std::atoll(pause));
  }
  content_records_ = std::make_unique<MetadataContentRecords>(*metadata_);
  options.records = content_records_.get();
  options.run_upkeep = true;
  options.upkeep.scan_every = SecondsToMs(config.upkeep_every_s);
  options.upkeep.gc_every = SecondsToMs(config.gc_every_s);
  options.upkeep.gc_grace = SecondsToMs(config.gc_grace_s);
  ASSIGN_OR_RETURN(network_content_, content::NetworkContentService::Open(options, *ring_store_));
  content_ = network_content_.get();
  if (etcd_ != nullptr) {
    ring_watch_ = etcd_->WatchKey(
        absl::StrCat(config.etcd_prefix, metadata::EtcdMetadataService::kRingKey),
        [service = network_content_.get()](const std::optional<std::string>& value) {
          if (!value.has_value()) return;  // deleted by hand: keep the ring in force
          absl::StatusOr<content::RingState> state = content::RingState::FromJson(*value);
          absl::Status adopted = state.ok() ? service->AdoptState(*state) : state.status();
          if (!adopted.ok()) spdlog::error("ignoring the stored ring state: {}", adopted.message());
        });
  }
  admin_server_ = std::make_unique<admin::AdminServer>(
      *network_content_, admin::AdminServerOptions{.host = admin_address.host,
                                                   .port = admin_address.port,
                                                   .allow_remote = config.admin_allow_remote,
                                                   .token = config.admin_token,
                                                   .tls_cert_file = config.tls_cert_file,
                                                   .tls_key_file = config.tls_key_file});
  RETURN_IF_ERROR(admin_server_->Start());
  spdlog::info("admin gRPC serving {} (ring: {})", admin_server_->address(),
               absl::StrJoin(network_content_->ring_state().nodes, ", "));
  return absl::OkStatus();
}

absl::Status Backends::OpenS3(const WebConfig& config) {
  content::S3ContentOptions options;
  ASSIGN_OR_RETURN(options.client.location, content::s3::S3Location::Parse(config.backends[3]));
  ASSIGN_OR_RETURN(options.client.credentials.access_key, S3Secret("DVS_S3_ACCESS_KEY"));
  ASSIGN_OR_RETURN(options.client.credentials.secret_key, S3Secret("DVS_S3_SECRET_KEY"));
  if (const char* region = std::getenv("DVS_S3_REGION"); region != nullptr && *region != '\0') {
    options.client.credentials.region = region;
  }
  ASSIGN_OR_RETURN(std::optional<int> part_mb, WholeNumberFromEnv("DVS_S3_PART_MB", 5, 5120));
  if (part_mb.has_value()) {
    // Files larger than one part go up in parts.
    options.upload.part_size = options.upload.multipart_threshold = uint64_t(*part_mb) << 20;
  }
  ASSIGN_OR_RETURN(std::optional<int> timeout_s, WholeNumberFromEnv("DVS_S3_TIMEOUT_S", 1, 3600));
  if (timeout_s.has_value()) {
    // One knob for both: a call without a file body, and a stalled transfer.
    options.client.request_timeout = options.client.stall_timeout =
        std::chrono::seconds(*timeout_s);
  }
  absl::StatusOr<std::unique_ptr<content::S3ContentService>> s3 =
      content::S3ContentService::Open(std::move(options));
  if (!s3.ok()) {
    // Not InvalidArgument (exit 2): the form was right, the store said no.
    return absl::Status(absl::IsInvalidArgument(s3.status()) ? absl::StatusCode::kFailedPrecondition
                                                             : s3.status().code(),
                        absl::StrCat("cannot use the S3 store: ", s3.status().message()));
  }
  s3_ = s3->get();
  s3_content_ = std::move(*s3);
  content_ = s3_content_.get();
  return absl::OkStatus();
}

Backends::~Backends() {
  if (admin_server_) admin_server_->Stop();
}

std::string Backends::Describe() const { return description_; }

content::ClusterAdmin* Backends::cluster_admin() { return network_content_.get(); }

const content::CachedContentService* Backends::cache() const {
  return dynamic_cast<const content::CachedContentService*>(cache_.get());
}

}  // namespace dvs::web
