#include "metadata/etcd/etcd_metadata_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/ids.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace dvs::metadata {
namespace {

constexpr char kVideosDir[] = "videos/";
constexpr char kProgressDir[] = "progress/";

absl::Status NoSuchVideo(std::string_view id) {
  return absl::NotFoundError(absl::StrCat("no video with id \"", common::AsAbsl(id), "\""));
}

// Values hold only what RecordJson wrote, so one that does not parse was
// damaged (or written by something else under our prefix).
absl::StatusOr<VideoMetadata> ParseValue(std::string_view key, const std::string& json,
                                         int64_t mod_revision) {
  absl::StatusOr<VideoMetadata> meta = VideoMetadataFromJson(json);
  if (!meta.ok()) {
    return absl::DataLossError(absl::StrCat("etcd: damaged record at ", common::AsAbsl(key), ": ",
                                            meta.status().message()));
  }
  meta->revision = mod_revision;
  return meta;
}

// The key after `key` in etcd's byte order: where the next page starts.
std::string KeyAfter(std::string_view key) {
  std::string next(key);
  next.push_back('\0');
  return next;
}

}  // namespace

EtcdMetadataService::EtcdMetadataService(std::shared_ptr<EtcdClient> client, std::string prefix)
    : client_(std::move(client)), prefix_(std::move(prefix)) {}

absl::StatusOr<std::unique_ptr<EtcdMetadataService>> EtcdMetadataService::Open(
    std::shared_ptr<EtcdClient> client, std::string prefix) {
  std::unique_ptr<EtcdMetadataService> service(
      new EtcdMetadataService(std::move(client), std::move(prefix)));
  RETURN_IF_ERROR(service->LoadAndWatch());
  service->reloader_ = std::thread([raw = service.get()] { raw->ReloadLoop(); });
  return service;
}

EtcdMetadataService::~EtcdMetadataService() {
  std::unique_ptr<EtcdClient::Watch> watch;
  {
    std::lock_guard lock(watch_mutex_);
    stopping_ = true;
    watch = std::move(watch_);
  }
  reload_wanted_.notify_all();
  watch.reset();  // outside the lock: its callback may be waiting for it
  if (reloader_.joinable()) reloader_.join();
}

std::string EtcdMetadataService::VideoKey(std::string_view id) const {
  return absl::StrCat(prefix_, kVideosDir, common::AsAbsl(id));
}

std::string EtcdMetadataService::ProgressKey(std::string_view id) const {
  return absl::StrCat(prefix_, kProgressDir, common::AsAbsl(id));
}

// Pages of the prefix at the revision of the first page, so the load is one
// consistent snapshot however long it takes; the watch then starts right
// after that revision and misses nothing.
absl::Status EtcdMetadataService::LoadAndWatch() {
  cache_.Clear();
  ASSIGN_OR_RETURN(int64_t revision, LoadRange(absl::StrCat(prefix_, kVideosDir), 0));
  RETURN_IF_ERROR(LoadRange(absl::StrCat(prefix_, kProgressDir), revision).status());
  cache_.AdvanceTo(revision);
  std::unique_ptr<EtcdClient::Watch> watch = client_->WatchPrefix(
      prefix_, revision + 1,
      [this](const std::vector<EtcdClient::Event>& events) { OnEvents(events); },
      [this](int64_t compacted) {
        spdlog::warn("etcd: the record watch fell behind a compaction (revision {}); reloading",
                     compacted);
        std::lock_guard lock(watch_mutex_);
        reload_ = true;
        reload_wanted_.notify_all();
      });
  std::unique_ptr<EtcdClient::Watch> old;
  {
    std::lock_guard lock(watch_mutex_);
    old = std::move(watch_);
    watch_ = std::move(watch);
  }
  spdlog::info("etcd: {} video records loaded at revision {}", cache_.size(), revision);
  return absl::OkStatus();
}

// Loads every key under `folder` into the cache, at `revision` (0: the
// newest); returns the revision read at.
absl::StatusOr<int64_t> EtcdMetadataService::LoadRange(const std::string& folder,
                                                       int64_t revision) {
  const std::string end = EtcdClient::PrefixEnd(folder);
  std::string start = folder;
  while (true) {
    ASSIGN_OR_RETURN(EtcdClient::RangePage page,
                     client_->GetRange(start, end, kLoadPageSize, revision));
    revision = page.revision;
    for (const EtcdClient::KeyValue& kv : page.kvs) {
      std::string_view id = std::string_view(kv.key).substr(folder.size());
      if (folder.ends_with(kVideosDir)) {
        cache_.ApplyRecord(id, kv.value, kv.mod_revision);
      } else {
        cache_.ApplyProgress(id, kv.value, kv.mod_revision);
      }
    }
    if (!page.more || page.kvs.empty()) return revision;
    start = KeyAfter(page.kvs.back().key);
  }
}

void EtcdMetadataService::OnEvents(const std::vector<EtcdClient::Event>& events) {
  const std::string videos = absl::StrCat(prefix_, kVideosDir);
  const std::string progress = absl::StrCat(prefix_, kProgressDir);
  int64_t newest = 0;
  for (const EtcdClient::Event& event : events) {
    newest = std::max(newest, event.mod_revision);
    bool put = event.type == EtcdClient::Event::Type::kPut;
    std::string_view key = event.key;
    if (key.starts_with(videos)) {
      std::string_view id = key.substr(videos.size());
      if (put) {
        cache_.ApplyRecord(id, event.value, event.mod_revision);
      } else {
        cache_.ApplyRecordDelete(id, event.mod_revision);
      }
    } else if (key.starts_with(progress)) {
      std::string_view id = key.substr(progress.size());
      if (put) {
        cache_.ApplyProgress(id, event.value, event.mod_revision);
      } else {
        cache_.ApplyProgressDelete(id, event.mod_revision);
      }
    }
  }
  if (newest > 0) cache_.AdvanceTo(newest);
}

void EtcdMetadataService::ReloadLoop() {
  std::unique_lock lock(watch_mutex_);
  while (true) {
    reload_wanted_.wait(lock, [this] { return reload_ || stopping_; });
    if (stopping_) return;
    reload_ = false;
    lock.unlock();
    absl::Status loaded = LoadAndWatch();
    lock.lock();
    if (!loaded.ok()) {
      spdlog::error("etcd: cannot reload the video records: {}; trying again", loaded.message());
      reload_ = true;
      reload_wanted_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
    }
  }
}

absl::StatusOr<int64_t> EtcdMetadataService::Create(const VideoMetadata& meta) {
  RETURN_IF_ERROR(common::ValidateName(meta.id, "video id"));
  ASSIGN_OR_RETURN(std::string json, RecordJson(meta));
  ASSIGN_OR_RETURN(EtcdClient::WriteResult result,
                   client_->CompareAndPutAt(VideoKey(meta.id), 0, json));
  if (!result.written) {
    return absl::AlreadyExistsError(absl::StrCat("video id \"", meta.id, "\" is taken"));
  }
  cache_.ApplyRecord(meta.id, json, result.revision);
  return result.revision;
}

absl::StatusOr<VideoMetadata> EtcdMetadataService::Read(std::string_view id) {
  RETURN_IF_ERROR(common::ValidateName(id, "video id"));
  std::string key = VideoKey(id);
  ASSIGN_OR_RETURN(EtcdClient::RangePage page, client_->GetRange(key, KeyAfter(key), 1));
  if (page.kvs.empty()) {
    cache_.ApplyRecordDelete(id, page.revision);
    return NoSuchVideo(id);
  }
  const EtcdClient::KeyValue& kv = page.kvs.front();
  cache_.ApplyRecord(id, kv.value, kv.mod_revision);
  return ParseValue(key, kv.value, kv.mod_revision);
}

std::shared_ptr<const VideoMetadata> EtcdMetadataService::ReadFromMemory(std::string_view id) {
  return cache_.Find(id);
}

absl::StatusOr<VideoPage> EtcdMetadataService::List(std::string_view cursor, size_t limit) {
  std::optional<ListPosition> after;
  if (!cursor.empty()) {
    ASSIGN_OR_RETURN(after, ParseListCursor(cursor));
  }
  return cache_.Page(after, limit);
}

absl::StatusOr<int64_t> EtcdMetadataService::Update(const VideoMetadata& meta) {
  RETURN_IF_ERROR(common::ValidateName(meta.id, "video id"));
  ASSIGN_OR_RETURN(std::string json, RecordJson(meta));
  std::string key = VideoKey(meta.id);
  // Revision 0 would mean "only when absent": a record never read is not
  // written over whatever is there.
  EtcdClient::WriteResult result;
  if (meta.revision > 0) {
    ASSIGN_OR_RETURN(result, client_->CompareAndPutAt(key, meta.revision, json));
  }
  if (result.written) {
    cache_.ApplyRecord(meta.id, json, result.revision);
    return result.revision;
  }
  ASSIGN_OR_RETURN(std::optional<EtcdClient::Value> current, client_->Get(key));
  if (!current.has_value()) return NoSuchVideo(meta.id);
  return absl::AbortedError(absl::StrCat("video \"", meta.id, "\" was changed (revision ",
                                         current->mod_revision, ", not ", meta.revision,
                                         ") since it was read"));
}

absl::Status EtcdMetadataService::Delete(std::string_view id) {
  RETURN_IF_ERROR(common::ValidateName(id, "video id"));
  ASSIGN_OR_RETURN(EtcdClient::WriteResult result, client_->DeleteAt(VideoKey(id)));
  cache_.ApplyRecordDelete(id, result.revision);
  absl::StatusOr<EtcdClient::WriteResult> progress = client_->DeleteAt(ProgressKey(id));
  if (!progress.ok()) {
    spdlog::warn("etcd: cannot drop the progress of deleted video {}: {}", id,
                 progress.status().message());
  } else {
    cache_.ApplyProgressDelete(id, progress->revision);
  }
  return result.written ? absl::OkStatus() : NoSuchVideo(id);
}

absl::Status EtcdMetadataService::PublishProgress(std::string_view id, double progress) {
  RETURN_IF_ERROR(common::ValidateName(id, "video id"));
  std::string value = absl::StrFormat("%.3f", progress);
  ASSIGN_OR_RETURN(int64_t revision, client_->PutAt(ProgressKey(id), value));
  cache_.ApplyProgress(id, value, revision);
  return absl::OkStatus();
}

std::optional<double> EtcdMetadataService::ReadProgress(std::string_view id) {
  return cache_.Progress(id);
}

absl::StatusOr<std::vector<VideoMetadataService::LegacyRecord>> EtcdMetadataService::ListLegacy(
    std::string_view after_id, size_t limit) {
  std::vector<LegacyRecord> records;
  for (const std::string& id : cache_.LegacyIds(after_id, limit)) {
    std::string key = VideoKey(id);
    ASSIGN_OR_RETURN(std::optional<EtcdClient::Value> value, client_->Get(key));
    if (!value.has_value()) continue;
    ASSIGN_OR_RETURN(VideoMetadata meta, ParseValue(key, value->value, value->mod_revision));
    ASSIGN_OR_RETURN(std::optional<std::vector<StoredFile>> files,
                     LegacyFilesFromJson(value->value));
    if (!files.has_value()) continue;
    records.push_back({std::move(meta), std::move(*files)});
  }
  return records;
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

// A linearizable read of one key needs a leader and quorum, which is what
// "ready" means for this backend; an alarm (NOSPACE) makes every write fail.
absl::Status EtcdMetadataService::CheckHealth() {
  RETURN_IF_ERROR(client_->Get(absl::StrCat(prefix_, kRingKey)).status());
  ASSIGN_OR_RETURN(std::vector<std::string> alarms, client_->Alarms());
  if (alarms.empty()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("etcd raises an alarm: ", absl::StrJoin(alarms, "; "),
                   " (for NOSPACE: compact, defragment and disarm, see the README)"));
}

std::string EtcdMetadataService::SmallFolder(std::string_view kind) const {
  return absl::StrCat(prefix_, common::AsAbsl(kind), "s/");
}

absl::StatusOr<SmallRecord> EtcdMetadataService::ReadSmall(std::string_view kind,
                                                           std::string_view key) {
  RETURN_IF_ERROR(ValidateSmallRecord(kind, key));
  ASSIGN_OR_RETURN(std::optional<EtcdClient::Value> value,
                   client_->Get(absl::StrCat(SmallFolder(kind), common::AsAbsl(key))));
  if (!value.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no ", common::AsAbsl(kind), " \"", common::AsAbsl(key), "\""));
  }
  return SmallRecord{std::string(key), std::move(value->value), value->mod_revision};
}

absl::StatusOr<int64_t> EtcdMetadataService::WriteSmall(std::string_view kind, std::string_view key,
                                                        std::string_view value,
                                                        int64_t expected_revision) {
  RETURN_IF_ERROR(ValidateSmallRecord(kind, key, value));
  ASSIGN_OR_RETURN(EtcdClient::WriteResult result,
                   client_->CompareAndPutAt(absl::StrCat(SmallFolder(kind), common::AsAbsl(key)),
                                            expected_revision, value));
  if (!result.written) {
    return absl::AbortedError(absl::StrCat(
        "the ", common::AsAbsl(kind), " \"", common::AsAbsl(key), "\" ",
        expected_revision == 0 ? "exists already" : "was changed or removed since it was read"));
  }
  return result.revision;
}

absl::Status EtcdMetadataService::DeleteSmall(std::string_view kind, std::string_view key) {
  RETURN_IF_ERROR(ValidateSmallRecord(kind, key));
  ASSIGN_OR_RETURN(EtcdClient::WriteResult result,
                   client_->DeleteAt(absl::StrCat(SmallFolder(kind), common::AsAbsl(key))));
  if (result.written) return absl::OkStatus();
  return absl::NotFoundError(
      absl::StrCat("no ", common::AsAbsl(kind), " \"", common::AsAbsl(key), "\""));
}

absl::Status EtcdMetadataService::DeleteSmallAt(std::string_view kind, std::string_view key,
                                                int64_t expected_revision) {
  RETURN_IF_ERROR(ValidateSmallRecord(kind, key));
  if (expected_revision <= 0) return absl::InvalidArgumentError("a revision is > 0");
  const std::string path = absl::StrCat(SmallFolder(kind), common::AsAbsl(key));
  ASSIGN_OR_RETURN(EtcdClient::WriteResult result,
                   client_->CompareAndDelete(path, expected_revision));
  if (result.written) return absl::OkStatus();
  // Which of the two: a read after the failed compare tells.
  RETURN_IF_ERROR(ReadSmall(kind, key).status());
  return absl::AbortedError(absl::StrCat("the ", common::AsAbsl(kind), " \"", common::AsAbsl(key),
                                         "\" was changed since it was read"));
}

absl::StatusOr<SmallRecordPage> EtcdMetadataService::ListSmall(std::string_view kind,
                                                               std::string_view after_key,
                                                               size_t limit) {
  RETURN_IF_ERROR(ValidateSmallRecord(kind, "x"));
  const std::string folder = SmallFolder(kind);
  std::string start = after_key.empty() ? folder : KeyAfter(folder + std::string(after_key));
  ASSIGN_OR_RETURN(EtcdClient::RangePage range,
                   client_->GetRange(start, EtcdClient::PrefixEnd(folder),
                                     static_cast<int64_t>(std::max<size_t>(limit, 1))));
  SmallRecordPage page;
  page.more = range.more;
  for (EtcdClient::KeyValue& kv : range.kvs) {
    page.records.push_back({kv.key.substr(folder.size()), std::move(kv.value), kv.mod_revision});
  }
  return page;
}

}  // namespace dvs::metadata
