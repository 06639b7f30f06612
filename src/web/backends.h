// The backends `dvs web` runs on, built from the reference's positional form:
// `sqlite PATH` for metadata, and `fs DIR` or `nw ADMIN_HOST:PORT,NODE[,NODE…]`
// for content. In `nw` mode the ring state is kept in the metadata backend
// and the admin gRPC server is started on ADMIN_HOST:PORT.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "content/content_service.h"
#include "metadata/metadata_service.h"
#include "web/serve.h"

namespace dvs::admin {
class AdminServer;
}
namespace dvs::content {
class RingStateStore;
class NetworkContentService;
}  // namespace dvs::content

namespace dvs::web {

class Backends {
 public:
  // Unimplemented for a backend this build lacks (etcd); InvalidArgument for
  // a malformed form; the backend's error when it cannot open.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Backends>> Open(const WebConfig& config);
  ~Backends();  // stops the admin server first

  metadata::VideoMetadataService& metadata() { return *metadata_; }
  content::VideoContentService& content() { return *content_; }
  std::string Describe() const;

 private:
  Backends() = default;
  absl::Status OpenNetwork(const WebConfig& config);

  // Declared in the order they are built; destroyed in reverse.
  std::unique_ptr<metadata::VideoMetadataService> metadata_;
  std::unique_ptr<content::RingStateStore> ring_store_;
  std::unique_ptr<content::VideoContentService> fs_content_;
  std::unique_ptr<content::NetworkContentService> network_content_;
  std::unique_ptr<admin::AdminServer> admin_server_;
  content::VideoContentService* content_ = nullptr;
  std::string description_;
};

}  // namespace dvs::web
