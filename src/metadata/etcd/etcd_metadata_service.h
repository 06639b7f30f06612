// The cluster metadata backend: video records, their progress, the ring
// state and the small records (users, tokens) in etcd, so several `dvs web` processes share them.
//
// Keys under a prefix ("/dvs/" by default): <prefix>videos/<id> holds the
// record's JSON (RecordJson), <prefix>progress/<id> a processing video's
// progress, <prefix>ring the ring state. Create is an etcd Txn on "key
// absent", so of two Creates of one id — in any processes — exactly one wins;
// Update is a Txn on the mod revision the record was read at. Errors from an
// unreachable cluster or one without quorum are Unavailable.
//
// Every record is also held in memory (EtcdRecordCache): Open loads them page
// by page, each page under gRPC's message limit and all at one revision, then
// follows a watch on the prefix from that revision. List, ReadFromMemory and
// ReadProgress answer from memory; Read is a linearizable read of etcd (and
// brings the cache up to what it saw), so a record deleted on one server is
// gone on every other at once for it. If etcd compacts past the watch's
// revision (a long partition), the records are loaded again.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "metadata/etcd/etcd_client.h"
#include "metadata/etcd/etcd_record_cache.h"
#include "metadata/metadata_service.h"

namespace dvs::metadata {

class EtcdMetadataService final : public VideoMetadataService {
 public:
  static constexpr char kDefaultPrefix[] = "/dvs/";
  // The ring state's key, under the prefix.
  static constexpr char kRingKey[] = "ring";
  // Records per page of the initial load: 200 records of at most
  // kMaxRecordBytes stay under gRPC's 4 MiB message limit.
  static constexpr int64_t kLoadPageSize = 200;

  // Loads the records and starts following them. The client is shared: the
  // ring-change lock of the same process uses it too.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<EtcdMetadataService>> Open(
      std::shared_ptr<EtcdClient> client, std::string prefix = kDefaultPrefix);
  ~EtcdMetadataService() override;

  absl::StatusOr<int64_t> Create(const VideoMetadata& meta) override;
  absl::StatusOr<VideoMetadata> Read(std::string_view id) override;
  std::shared_ptr<const VideoMetadata> ReadFromMemory(std::string_view id) override;
  absl::StatusOr<VideoPage> List(std::string_view cursor, size_t limit) override;
  absl::StatusOr<int64_t> Update(const VideoMetadata& meta) override;
  absl::Status Delete(std::string_view id) override;
  absl::Status PublishProgress(std::string_view id, double progress) override;
  std::optional<double> ReadProgress(std::string_view id) override;
  absl::StatusOr<std::vector<LegacyRecord>> ListLegacy(std::string_view after_id,
                                                       size_t limit) override;
  absl::StatusOr<std::optional<std::string>> LoadRingState() override;
  absl::Status StoreRingState(std::string_view state) override;
  // Also Unavailable while etcd raises an alarm (NOSPACE: every write fails).
  absl::Status CheckHealth() override;
  // Small records live at <prefix><kind>s/<key>; their revision is the key's
  // mod revision, and WriteSmall is a Txn on it. Read from etcd, not memory.
  absl::StatusOr<SmallRecord> ReadSmall(std::string_view kind, std::string_view key) override;
  absl::StatusOr<int64_t> WriteSmall(std::string_view kind, std::string_view key,
                                     std::string_view value, int64_t expected_revision) override;
  absl::Status DeleteSmall(std::string_view kind, std::string_view key) override;
  absl::Status DeleteSmallAt(std::string_view kind, std::string_view key,
                             int64_t expected_revision) override;
  absl::StatusOr<SmallRecordPage> ListSmall(std::string_view kind, std::string_view after_key,
                                            size_t limit) override;

  // How many records are held in memory.
  size_t cached_records() const { return cache_.size(); }

 private:
  EtcdMetadataService(std::shared_ptr<EtcdClient> client, std::string prefix);

  std::string VideoKey(std::string_view id) const;
  std::string ProgressKey(std::string_view id) const;
  std::string SmallFolder(std::string_view kind) const;
  // Reads every record and progress value at one revision into the cache,
  // then watches from there.
  absl::Status LoadAndWatch();
  absl::StatusOr<int64_t> LoadRange(const std::string& folder, int64_t revision);
  void OnEvents(const std::vector<EtcdClient::Event>& events);
  // Reloads after a compaction, on a thread of its own (a watch cannot be
  // replaced from its own callback).
  void ReloadLoop();

  const std::shared_ptr<EtcdClient> client_;
  const std::string prefix_;
  EtcdRecordCache cache_;

  std::mutex watch_mutex_;
  std::condition_variable reload_wanted_;
  // State below is protected by watch_mutex_.
  bool reload_ = false;
  bool stopping_ = false;
  std::unique_ptr<EtcdClient::Watch> watch_;
  std::thread reloader_;
};

}  // namespace dvs::metadata
