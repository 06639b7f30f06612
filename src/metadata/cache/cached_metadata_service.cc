#include "metadata/cache/cached_metadata_service.h"

#include <utility>

namespace dvs::metadata {

CachedMetadataService::CachedMetadataService(std::unique_ptr<VideoMetadataService> backend,
                                             size_t max_entries)
    : backend_(std::move(backend)), max_entries_(max_entries) {}

// A write forgets its record both before it starts and after it ends: a read
// that overlaps the write in any way sees a changed generation and keeps
// nothing, and the record is reloaded on the next read.
absl::Status CachedMetadataService::Create(const VideoMetadata& meta) {
  Forget(meta.id);
  absl::Status status = backend_->Create(meta);
  Forget(meta.id);
  return status;
}

absl::Status CachedMetadataService::Update(const VideoMetadata& meta) {
  Forget(meta.id);
  absl::Status status = backend_->Update(meta);
  Forget(meta.id);
  return status;
}

absl::Status CachedMetadataService::Delete(std::string_view id) {
  Forget(id);
  absl::Status status = backend_->Delete(id);
  Forget(id);
  return status;
}

absl::StatusOr<VideoMetadata> CachedMetadataService::Read(std::string_view id) {
  uint64_t generation;
  {
    std::lock_guard lock(mutex_);
    auto it = records_.find(id);
    if (it != records_.end()) return *it->second;
    generation = generation_;
  }
  absl::StatusOr<VideoMetadata> meta = backend_->Read(id);
  if (meta.ok()) Keep(std::make_shared<const VideoMetadata>(*meta), generation);
  return meta;
}

std::shared_ptr<const VideoMetadata> CachedMetadataService::ReadFromMemory(std::string_view id) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(id);
  return it != records_.end() ? it->second : nullptr;
}

absl::StatusOr<std::vector<VideoMetadata>> CachedMetadataService::List() {
  return backend_->List();
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

void CachedMetadataService::Forget(std::string_view id) {
  std::lock_guard lock(mutex_);
  records_.erase(std::string(id));
  ++generation_;
}

void CachedMetadataService::Keep(Record record, uint64_t generation_at_read) {
  std::lock_guard lock(mutex_);
  if (generation_ != generation_at_read) return;
  if (records_.size() >= max_entries_) records_.clear();
  std::string id = record->id;
  records_.insert_or_assign(std::move(id), std::move(record));
}

}  // namespace dvs::metadata
