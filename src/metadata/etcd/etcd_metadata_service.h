// The cluster metadata backend: video records and the ring state in etcd, so
// several `dvs web` processes share them.
//
// Keys under a prefix ("/dvs/" by default): <prefix>videos/<id> holds the
// record's JSON (ToJson), <prefix>ring the ring state. Create is an etcd Txn
// on "key absent", so of two Creates of one id — in any processes — exactly
// one wins. Errors from an unreachable cluster or one without quorum are
// Unavailable.
//
// Thread-safe: no state of its own beyond the (thread-safe) client.
#pragma once

#include <memory>
#include <string>

#include "metadata/etcd/etcd_client.h"
#include "metadata/metadata_service.h"

namespace dvs::metadata {

class EtcdMetadataService final : public VideoMetadataService {
 public:
  static constexpr char kDefaultPrefix[] = "/dvs/";
  // The ring state's key, under the prefix.
  static constexpr char kRingKey[] = "ring";

  // The client is shared: the ring-change lock of the same process uses it too.
  explicit EtcdMetadataService(std::shared_ptr<EtcdClient> client,
                               std::string prefix = kDefaultPrefix);

  absl::Status Create(const VideoMetadata& meta) override;
  absl::StatusOr<VideoMetadata> Read(std::string_view id) override;
  absl::StatusOr<std::vector<VideoMetadata>> List() override;
  absl::Status Update(const VideoMetadata& meta) override;
  absl::Status Delete(std::string_view id) override;
  absl::StatusOr<std::optional<std::string>> LoadRingState() override;
  absl::Status StoreRingState(std::string_view state) override;
  absl::Status CheckHealth() override;

 private:
  std::string VideoKey(std::string_view id) const;

  const std::shared_ptr<EtcdClient> client_;
  const std::string prefix_;
};

}  // namespace dvs::metadata
