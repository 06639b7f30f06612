#include "metadata/cache/cached_metadata_service.h"

#include <utility>

namespace dvs::metadata {

CachedMetadataService::CachedMetadataService(std::unique_ptr<VideoMetadataService> backend,
                                             size_t max_entries)
    : backend_(std::move(backend)), max_entries_(max_entries) {}

// A write forgets its record both before it starts and after it ends: a read
// that overlaps the write in any way sees a changed write count and keeps
// nothing, and the record is reloaded on the next read.
absl::StatusOr<int64_t> CachedMetadataService::Create(const VideoMetadata& meta) {
  Forget(meta.id);
  absl::StatusOr<int64_t> revision = backend_->Create(meta);
  Forget(meta.id);
  return revision;
}

absl::StatusOr<int64_t> CachedMetadataService::Update(const VideoMetadata& meta) {
  Forget(meta.id);
  absl::StatusOr<int64_t> revision = backend_->Update(meta);
  Forget(meta.id);
  return revision;
}

absl::Status CachedMetadataService::Delete(std::string_view id) {
  Forget(id);
  absl::Status status = backend_->Delete(id);
  Forget(id);
  return status;
}

absl::StatusOr<VideoMetadata> CachedMetadataService::Read(std::string_view id) {
  uint64_t writes;
  {
    std::lock_guard lock(mutex_);
    if (Record kept = Touch(id)) return *kept;
    writes = writes_;
  }
  absl::StatusOr<VideoMetadata> meta = backend_->Read(id);
  if (meta.ok()) Keep(std::make_shared<const VideoMetadata>(*meta), writes);
  return meta;
}

std::shared_ptr<const VideoMetadata> CachedMetadataService::ReadFromMemory(std::string_view id) {
  std::lock_guard lock(mutex_);
  return Touch(id);
}

absl::StatusOr<VideoPage> CachedMetadataService::List(std::string_view cursor, size_t limit) {
  return backend_->List(cursor, limit);
}

absl::Status CachedMetadataService::PublishProgress(std::string_view id, double progress) {
  return backend_->PublishProgress(id, progress);
}

std::optional<double> CachedMetadataService::ReadProgress(std::string_view id) {
  return backend_->ReadProgress(id);
}

absl::StatusOr<std::vector<VideoMetadataService::LegacyRecord>> CachedMetadataService::ListLegacy(
    std::string_view after_id, size_t limit) {
  return backend_->ListLegacy(after_id, limit);
}

absl::StatusOr<std::optional<std::string>> CachedMetadataService::LoadRingState() {
  return backend_->LoadRingState();
}

absl::Status CachedMetadataService::StoreRingState(std::string_view state) {
  return backend_->StoreRingState(state);
}

absl::Status CachedMetadataService::CheckHealth() { return backend_->CheckHealth(); }

size_t CachedMetadataService::entries() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

CachedMetadataService::Record CachedMetadataService::Touch(std::string_view id) {
  auto it = records_.find(id);
  if (it == records_.end()) return nullptr;
  recency_.splice(recency_.begin(), recency_, it->second.position);
  return it->second.record;
}

void CachedMetadataService::Forget(std::string_view id) {
  std::lock_guard lock(mutex_);
  if (auto it = records_.find(id); it != records_.end()) {
    recency_.erase(it->second.position);
    records_.erase(it);
  }
  ++writes_;
}

void CachedMetadataService::Keep(Record record, uint64_t writes_at_read) {
  std::lock_guard lock(mutex_);
  if (writes_ != writes_at_read || max_entries_ == 0) return;
  if (auto it = records_.find(record->id); it != records_.end()) {
    // Two reads of one id raced; the later answer is as fresh.
    recency_.splice(recency_.begin(), recency_, it->second.position);
    it->second.record = std::move(record);
    return;
  }
  while (records_.size() >= max_entries_) {
    records_.erase(recency_.back());
    recency_.pop_back();
  }
  recency_.push_front(record->id);
  std::string id = record->id;
  records_.emplace(std::move(id), Entry{std::move(record), recency_.begin()});
}

}  // namespace dvs::metadata
