// The uploads of the tus protocol, kept on local disk so that they survive a
// restart: work_dir/tus/<upload id>/ holds `info` (what the creator said,
// the durable offset, the state) and `data` (the bytes received). `info` is
// replaced atomically and only after the bytes it counts were fsynced, so
// the offset it gives is always one a client can go on from; bytes in
// `data` past that offset are garbage left by a crash and are cut off by
// the next write.
//
// Promises: at most one writer (Lease) per upload at a time in this
// process; an expired upload is gone for every reader. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::web {

struct TusUpload {
  enum class State { kReceiving, kDone, kFailed };

  std::string id;  // 32 random hex digits
  std::string owner;
  std::string filename;
  std::string visibility = "public";
  uint64_t length = 0;
  uint64_t offset = 0;  // bytes durably received
  int64_t expires_ms = 0;
  State state = State::kReceiving;
  std::string video_id;  // kDone: the video made of it
  std::string error;     // kFailed: why it was refused
  int error_status = 0;  // kFailed: the HTTP status it was refused with
};

std::string_view TusStateName(TusUpload::State state);

class TusStore {
 public:
  TusStore(std::filesystem::path dir, std::function<int64_t()> now_ms);

  // Holds the right to write one upload; released on destruction.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

   private:
    friend class TusStore;
    Lease(TusStore* store, std::string id) : store_(store), id_(std::move(id)) {}
    TusStore* store_;
    std::string id_;
  };

  // Makes `upload` durable under a new random id (set in the result) with
  // an empty data file.
  [[nodiscard]] absl::StatusOr<TusUpload> Create(TusUpload upload);
  // NotFound for an unknown, removed or expired upload (an expired one is
  // removed on the way).
  [[nodiscard]] absl::StatusOr<TusUpload> Read(const std::string& id);
  // Replaces the upload's info atomically (after its bytes are synced).
  [[nodiscard]] absl::Status Save(const TusUpload& upload);
  // Aborted when another request writes the upload now.
  [[nodiscard]] absl::StatusOr<Lease> Acquire(const std::string& id);
  // Removes the upload's folder; NotFound when there is none.
  [[nodiscard]] absl::Status Remove(const std::string& id);
  // Removes every expired upload not being written; returns how many.
  size_t RemoveExpired();

  std::filesystem::path DataPath(const std::string& id) const;
  int64_t now_ms() const { return now_ms_(); }

 private:
  std::filesystem::path Folder(const std::string& id) const;
  absl::Status RemoveFolder(const std::string& id);

  const std::filesystem::path dir_;
  const std::function<int64_t()> now_ms_;
  std::mutex mutex_;
  std::set<std::string> leased_;  // guarded by mutex_
};

}  // namespace dvs::web
