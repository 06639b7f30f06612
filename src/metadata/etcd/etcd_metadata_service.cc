#include "metadata/etcd/etcd_metadata_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status.h"

namespace dvs::metadata {
namespace {

constexpr char kVideosDir[] = "videos/";

absl::Status NoSuchVideo(std::string_view id) {
  return absl::NotFoundError(absl::StrCat("no video with id \"", common::AsAbsl(id), "\""));
}

// Values hold only what ToJson wrote, so one that does not parse was damaged
// (or written by something else under our prefix).
absl::StatusOr<VideoMetadata> ParseValue(std::string_view key, const std::string& json) {
  absl::StatusOr<VideoMetadata> meta = VideoMetadataFromJson(json);
  if (!meta.ok()) {
    return absl::DataLossError(absl::StrCat("etcd: damaged record at ", common::AsAbsl(key), ": ",
                                            meta.status().message()));
  }
  return meta;
}

bool NewestFirst(const VideoMetadata& a, const VideoMetadata& b) {
  if (a.uploaded_at_ms != b.uploaded_at_ms) return a.uploaded_at_ms > b.uploaded_at_ms;
  return a.id < b.id;
}

}  // namespace

EtcdMetadataService::EtcdMetadataService(std::shared_ptr<EtcdClient> client, std::string prefix)
    : client_(std::move(client)), prefix_(std::move(prefix)) {}

std::string EtcdMetadataService::VideoKey(std::string_view id) const {
  return absl::StrCat(prefix_, kVideosDir, common::AsAbsl(id));
}

absl::Status EtcdMetadataService::Create(const VideoMetadata& meta) {
  RETURN_IF_ERROR(common::ValidateName(meta.id, "video id"));
  ASSIGN_OR_RETURN(EtcdClient::PutIfAbsentResult result,
                   client_->PutIfAbsent(VideoKey(meta.id), ToJson(meta)));
  if (!result.created) {
    return absl::AlreadyExistsError(absl::StrCat("video id \"", meta.id, "\" is taken"));
  }
  return absl::OkStatus();
}

absl::StatusOr<VideoMetadata> EtcdMetadataService::Read(std::string_view id) {
  RETURN_IF_ERROR(common::ValidateName(id, "video id"));
  std::string key = VideoKey(id);
  ASSIGN_OR_RETURN(std::optional<EtcdClient::Value> value, client_->Get(key));
  if (!value.has_value()) return NoSuchVideo(id);
  return ParseValue(key, value->value);
}

// etcd sorts by key only, so the newest-first order is made here.
absl::StatusOr<std::vector<VideoMetadata>> EtcdMetadataService::List() {
  ASSIGN_OR_RETURN(std::vector<EtcdClient::KeyValue> entries,
                   client_->GetPrefix(absl::StrCat(prefix_, kVideosDir)));
  std::vector<VideoMetadata> videos;
  videos.reserve(entries.size());
  for (const EtcdClient::KeyValue& entry : entries) {
    ASSIGN_OR_RETURN(VideoMetadata meta, ParseValue(entry.key, entry.value));
    videos.push_back(std::move(meta));
  }
  std::sort(videos.begin(), videos.end(), NewestFirst);
  return videos;
}

// Writes only over the revision it read: a plain put after a concurrent
// Delete would bring the deleted record back.
absl::Status EtcdMetadataService::Update(const VideoMetadata& meta) {
  RETURN_IF_ERROR(common::ValidateName(meta.id, "video id"));
  std::string key = VideoKey(meta.id);
  std::string json = ToJson(meta);
  // Another writer may win between our read and write; then re-read, a few
  // times, rather than fail an update that has nothing to conflict with.
  constexpr int kMaxTries = 5;
  for (int i = 0; i < kMaxTries; ++i) {
    ASSIGN_OR_RETURN(std::optional<EtcdClient::Value> current, client_->Get(key));
    if (!current.has_value()) return NoSuchVideo(meta.id);
    ASSIGN_OR_RETURN(bool written, client_->CompareAndPut(key, current->mod_revision, json));
    if (written) return absl::OkStatus();
  }
  return absl::AbortedError(
      absl::StrCat("video \"", meta.id, "\" kept changing under the update; try again"));
}

absl::Status EtcdMetadataService::Delete(std::string_view id) {
  RETURN_IF_ERROR(common::ValidateName(id, "video id"));
  ASSIGN_OR_RETURN(int64_t deleted, client_->Delete(VideoKey(id)));
  return deleted == 0 ? NoSuchVideo(id) : absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> EtcdMetadataService::LoadRingState() {
  ASSIGN_OR_RETURN(std::optional<EtcdClient::Value> value,
                   client_->Get(absl::StrCat(prefix_, kRingKey)));
  if (!value.has_value()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(value->value));
}

absl::Status EtcdMetadataService::StoreRingState(std::string_view state) {
  return client_->Put(absl::StrCat(prefix_, kRingKey), state);
}

// A linearizable read of one key: it needs a leader and quorum, which is
// what "ready" means for this backend.
absl::Status EtcdMetadataService::CheckHealth() {
  return client_->Get(absl::StrCat(prefix_, kRingKey)).status();
}

}  // namespace dvs::metadata
