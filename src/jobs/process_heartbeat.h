// ProcessHeartbeat: a process's liveness record in the metadata backend
// (kind "proc", key = its process id): {role, started_at_ms,
// expires_at_ms}, renewed by compare-and-set every few seconds while the
// process runs and deleted when it stops. Other processes read it to know
// who is alive (IsProcessAlive); a job's own lease (JobRecord::
// lease_expires_at_ms, renewed by the same heartbeat in JobRunner) decides
// who may take the job over.
//
// The same heartbeat on SQLite and on etcd (no etcd lease): simpler, and
// the fake clock of the tests drives both.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "metadata/small_record_store.h"

namespace dvs::jobs {

inline constexpr std::string_view kProcessKind = "proc";  // etcd: <prefix>procs/<id>

// A fresh random process id (16 hex digits).
std::string NewProcessId();

// Is the process `process_id` alive at `now_ms`: has it a liveness record
// that has not expired?
[[nodiscard]] absl::StatusOr<bool> IsProcessAlive(metadata::SmallRecordStore& store,
                                                  std::string_view process_id, int64_t now_ms);

class ProcessHeartbeat {
 public:
  // `exclusive_id`: the caller holds the id alone (see Start).
  ProcessHeartbeat(metadata::SmallRecordStore& store, std::function<int64_t()> now_ms,
                   std::string process_id, std::string role, int64_t ttl_ms,
                   bool exclusive_id = false);

  // Writes the record. FailedPrecondition when a live process holds this id
  // already (two processes must never share one); an expired record of it
  // (this process before a restart) is taken over, and so is a live one
  // when the id is exclusive (a restart sooner than the record expires).
  [[nodiscard]] absl::Status Start();
  // Moves expires_at_ms to now + ttl. When the record was changed or removed
  // by someone else, writes it anew (the process is alive, whatever the
  // record said).
  [[nodiscard]] absl::Status Renew();
  // Deletes the record (if it is still ours).
  [[nodiscard]] absl::Status Stop();

  const std::string& process_id() const { return process_id_; }

 private:
  std::string Value(int64_t now_ms) const;

  metadata::SmallRecordStore& store_;
  const std::function<int64_t()> now_ms_;
  const std::string process_id_;
  const std::string role_;
  const int64_t ttl_ms_;
  const bool exclusive_id_;
  int64_t started_at_ms_ = 0;
  std::mutex mutex_;
  int64_t revision_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace dvs::jobs
