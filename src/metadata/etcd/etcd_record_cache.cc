#include "metadata/etcd/etcd_record_cache.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace dvs::metadata {
namespace {

// Records of the form before file indexes carry their list. A title or error
// that contains this text is escaped in JSON (\"files\":), so it cannot match.
bool IsLegacyJson(std::string_view json) {
  return absl::StrContains(common::AsAbsl(json), "\"files\":");
}

}  // namespace

bool EtcdRecordCache::IsNewer(std::string_view id, int64_t revision) const {
  if (auto deleted = deleted_.find(id); deleted != deleted_.end() && deleted->second >= revision) {
    return false;
  }
  auto held = records_.find(std::string(id));
  return held == records_.end() || held->second->revision < revision;
}

bool EtcdRecordCache::ApplyRecord(std::string_view id, std::string_view json,
                                  int64_t mod_revision) {
  absl::StatusOr<VideoMetadata> meta = VideoMetadataFromJson(json);
  if (!meta.ok() || meta->id != id) {
    spdlog::error("etcd: the record of \"{}\" (revision {}) is damaged and is not served: {}", id,
                  mod_revision, meta.ok() ? "its id differs" : meta.status().message());
    return false;
  }
  meta->revision = mod_revision;
  std::lock_guard lock(mutex_);
  revision_ = std::max(revision_, mod_revision);
  if (!IsNewer(id, mod_revision)) return false;
  std::string key(id);
  Erase(key);
  deleted_.erase(key);
  order_.insert(OrderOf(*meta));
  if (IsLegacyJson(json)) legacy_.insert(key);
  records_.emplace(std::move(key), std::make_shared<const VideoMetadata>(std::move(*meta)));
  return true;
}

void EtcdRecordCache::ApplyRecordDelete(std::string_view id, int64_t revision) {
  std::lock_guard lock(mutex_);
  revision_ = std::max(revision_, revision);
  if (!IsNewer(id, revision)) return;
  std::string key(id);
  Erase(key);
  deleted_[key] = revision;
}

void EtcdRecordCache::Erase(const std::string& id) {
  auto held = records_.find(id);
  if (held == records_.end()) return;
  order_.erase(OrderOf(*held->second));
  legacy_.erase(id);
  records_.erase(held);
}

void EtcdRecordCache::ApplyProgress(std::string_view id, std::string_view value,
                                    int64_t mod_revision) {
  double progress = 0;
  if (!absl::SimpleAtod(common::AsAbsl(value), &progress)) return;
  std::lock_guard lock(mutex_);
  revision_ = std::max(revision_, mod_revision);
  auto [entry, added] = progress_.try_emplace(std::string(id), progress, mod_revision);
  if (!added && entry->second.second < mod_revision) entry->second = {progress, mod_revision};
}

void EtcdRecordCache::ApplyProgressDelete(std::string_view id, int64_t revision) {
  std::lock_guard lock(mutex_);
  revision_ = std::max(revision_, revision);
  auto entry = progress_.find(std::string(id));
  if (entry != progress_.end() && entry->second.second < revision) progress_.erase(entry);
}

void EtcdRecordCache::AdvanceTo(int64_t revision) {
  std::lock_guard lock(mutex_);
  revision_ = std::max(revision_, revision);
  std::erase_if(deleted_, [revision](const auto& entry) { return entry.second <= revision; });
}

void EtcdRecordCache::Clear() {
  std::lock_guard lock(mutex_);
  records_.clear();
  order_.clear();
  legacy_.clear();
  progress_.clear();
  deleted_.clear();
  revision_ = 0;
}

EtcdRecordCache::Record EtcdRecordCache::Find(std::string_view id) const {
  std::lock_guard lock(mutex_);
  auto held = records_.find(std::string(id));
  return held == records_.end() ? nullptr : held->second;
}

std::optional<double> EtcdRecordCache::Progress(std::string_view id) const {
  std::lock_guard lock(mutex_);
  auto entry = progress_.find(std::string(id));
  if (entry == progress_.end()) return std::nullopt;
  return entry->second.first;
}

VideoPage EtcdRecordCache::Page(const std::optional<ListPosition>& after, size_t limit) const {
  limit = std::max<size_t>(limit, 1);
  std::lock_guard lock(mutex_);
  auto it =
      after.has_value() ? order_.upper_bound({-after->uploaded_at_ms, after->id}) : order_.begin();
  VideoPage page;
  for (; it != order_.end(); ++it) {
    if (page.videos.size() == limit) {
      page.next_cursor = ListCursorAfter(page.videos.back());
      break;
    }
    page.videos.push_back(*records_.at(it->second));
  }
  return page;
}

std::vector<std::string> EtcdRecordCache::LegacyIds(std::string_view after_id, size_t limit) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  for (auto it = legacy_.upper_bound(std::string(after_id));
       it != legacy_.end() && ids.size() < limit; ++it) {
    ids.push_back(*it);
  }
  return ids;
}

size_t EtcdRecordCache::size() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

int64_t EtcdRecordCache::revision() const {
  std::lock_guard lock(mutex_);
  return revision_;
}

}  // namespace dvs::metadata
