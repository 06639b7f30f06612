// EtcdRecordCache: the video records and progress values of one etcd prefix,
// held in memory and kept current by applying etcd's changes in revision
// order, so that serving and listing never wait on etcd.
//
// Changes come from two sides: the watch on the prefix (every write, from
// every process, in order) and this process's own writes as soon as etcd has
// acknowledged them (so a server sees its own writes at once). Both carry
// etcd revisions, and a change older than what the cache holds for its key is
// ignored: a record's revision for puts, and for deletes the revision of the
// delete, remembered until the watch has passed it. So applying the same
// change twice, or an old one late, is harmless.
//
// Thread-safe: mutex_ guards everything; records handed out are immutable.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "metadata/video_metadata.h"

namespace dvs::metadata {

class EtcdRecordCache {
 public:
  using Record = std::shared_ptr<const VideoMetadata>;

  // A record's value as stored in etcd, at its mod revision. A value that is
  // not a record is logged and left out (Read of that id goes to etcd and
  // reports it). Returns whether it was applied.
  bool ApplyRecord(std::string_view id, std::string_view json, int64_t mod_revision);
  // The record was deleted at `revision`.
  void ApplyRecordDelete(std::string_view id, int64_t revision);
  void ApplyProgress(std::string_view id, std::string_view value, int64_t mod_revision);
  void ApplyProgressDelete(std::string_view id, int64_t revision);
  // The watch has delivered everything up to `revision`: deletes at or
  // before it need not be remembered any more.
  void AdvanceTo(int64_t revision);
  // Drops everything (before a reload from a new snapshot).
  void Clear();

  Record Find(std::string_view id) const;
  std::optional<double> Progress(std::string_view id) const;
  // One page after `after` (none: from the newest), newest first.
  VideoPage Page(const std::optional<ListPosition>& after, size_t limit) const;
  // Ids of records still in the form before file indexes, after `after_id`.
  std::vector<std::string> LegacyIds(std::string_view after_id, size_t limit) const;
  size_t size() const;
  int64_t revision() const;

 private:
  // The key of the list order: newest first, then by id.
  using OrderKey = std::pair<int64_t, std::string>;  // (-uploaded_at_ms, id)
  static OrderKey OrderOf(const VideoMetadata& meta) { return {-meta.uploaded_at_ms, meta.id}; }

  // True when a change at `revision` to `id` is not older than what is held.
  bool IsNewer(std::string_view id, int64_t revision) const;
  void Erase(const std::string& id);

  mutable std::mutex mutex_;
  // State below is protected by mutex_.
  std::unordered_map<std::string, Record> records_;
  std::set<OrderKey> order_;
  std::set<std::string> legacy_;
  std::unordered_map<std::string, std::pair<double, int64_t>> progress_;  // value, revision
  // Deletes applied ahead of the watch: id -> revision of the delete.
  std::map<std::string, int64_t, std::less<>> deleted_;
  int64_t revision_ = 0;  // the newest revision applied
};

}  // namespace dvs::metadata
