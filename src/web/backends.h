// The backends `dvs web` runs on, built from the reference's positional form:
// `sqlite PATH` or `etcd HOST:PORT[,HOST:PORT…]` for metadata, and `fs DIR`,
// `nw ADMIN_HOST:PORT,NODE[,NODE…]` or `s3 http[s]://ENDPOINT/BUCKET[/PREFIX]`
// for content (S3 credentials from DVS_S3_ACCESS_KEY and DVS_S3_SECRET_KEY,
// or the files named by DVS_S3_ACCESS_KEY_FILE and DVS_S3_SECRET_KEY_FILE;
// the region from DVS_S3_REGION). In `nw` mode the ring
// state is kept in the metadata backend and the admin gRPC server is started
// on ADMIN_HOST:PORT. With etcd, several web servers may share the metadata
// and the storage cluster: ring changes take a lock in etcd, and each server
// follows the others' through a watch on the ring key.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "content/content_service.h"
#include "metadata/etcd/etcd_client.h"
#include "metadata/metadata_service.h"
#include "web/serve.h"

namespace dvs::admin {
class AdminServer;
}
namespace dvs::content {
class RingStateStore;
class ContentRecords;
class RingChangeLock;
class NetworkContentService;
class CachedContentService;
class ClusterAdmin;
class S3ContentService;
}  // namespace dvs::content

namespace dvs::web {

class Backends {
 public:
  // InvalidArgument for a malformed form; the backend's error when it cannot
  // open (Unavailable when etcd cannot be reached).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Backends>> Open(const WebConfig& config);
  ~Backends();  // stops the admin server first

  metadata::VideoMetadataService& metadata() { return *metadata_; }
  content::VideoContentService& content() { return *content_; }
  std::string Describe() const;
  // For metrics: the hot-file cache (null with --cache-mb 0) and the storage
  // cluster (null unless nw).
  const content::CachedContentService* cache() const;
  content::NetworkContentService* network() { return network_content_.get(); }
  content::ClusterAdmin* cluster_admin();          // null unless nw
  content::S3ContentService* s3() { return s3_; }  // null unless s3

 private:
  Backends() = default;
  absl::Status OpenMetadata(const WebConfig& config);
  absl::Status OpenNetwork(const WebConfig& config);
  absl::Status OpenS3(const WebConfig& config);

  // Declared in the order they are built; destroyed in reverse.
  std::shared_ptr<metadata::EtcdClient> etcd_;  // with etcd metadata
  std::unique_ptr<metadata::VideoMetadataService> metadata_;
  std::unique_ptr<content::RingStateStore> ring_store_;
  std::shared_ptr<content::RingChangeLock> ring_lock_;  // with etcd metadata
  std::unique_ptr<content::VideoContentService> fs_content_;
  std::unique_ptr<content::ContentRecords> content_records_;  // nw: for network_content_
  std::unique_ptr<content::NetworkContentService> network_content_;
  std::unique_ptr<content::VideoContentService> s3_content_;
  std::unique_ptr<metadata::EtcdClient::Watch> ring_watch_;  // stopped before the service it feeds
  std::unique_ptr<content::VideoContentService> cache_;      // in front of the content backend
  std::unique_ptr<admin::AdminServer> admin_server_;
  content::VideoContentService* content_ = nullptr;
  content::S3ContentService* s3_ = nullptr;  // s3_content_, when s3
  std::string description_;
};

}  // namespace dvs::web
