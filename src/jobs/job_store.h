// JobStore: the job records (job_record.h) on a SmallRecordStore, with the
// rules every process follows on them: which jobs a process may claim, in
// which order, and how many may wait (the admission bound). Each write is a
// compare-and-set on the revision read, so of two processes that act on the
// same read exactly one wins.
//
// Thread-safe (the store is; the JobStore holds no state of its own).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "jobs/job_record.h"
#include "metadata/small_record_store.h"

namespace dvs::jobs {

class JobStore {
 public:
  JobStore(metadata::SmallRecordStore& store, std::function<int64_t()> now_ms);

  // Queues the job of `job.video_id` at `job.generation` (created now,
  // unowned, no attempts). A job of another generation under that id is void
  // and is replaced; one of the same generation is kept as it is and
  // returned (an upload retried). Returns the record as stored.
  [[nodiscard]] absl::StatusOr<JobRecord> Add(JobRecord job);
  // NotFound when the video has no job.
  [[nodiscard]] absl::StatusOr<JobRecord> Read(std::string_view video_id);
  // Every job record, by video id. Records that do not parse are skipped
  // (and logged): one bad record must not stop the queue.
  [[nodiscard]] absl::StatusOr<std::vector<JobRecord>> List();
  // Writes `job` by compare-and-set at job.revision; Aborted when the record
  // changed since. Returns it with its new revision.
  [[nodiscard]] absl::StatusOr<JobRecord> Write(JobRecord job);
  // Deletes the record only if it is still at job.revision (Aborted if not).
  [[nodiscard]] absl::Status Remove(const JobRecord& job);
  // Deletes the video's job whatever its state (the video was deleted). OK
  // when there was none.
  [[nodiscard]] absl::Status RemoveVideo(std::string_view video_id);
  // Queues a failed job again from the start (a retry asked for by a user).
  // FailedPrecondition unless it failed; NotFound without a job.
  [[nodiscard]] absl::StatusOr<JobRecord> Requeue(std::string_view video_id);

  // ResourceExhausted, saying why, when `max_queued` (> 0) or more jobs are
  // unfinished: a new upload must wait. 0 means no bound.
  [[nodiscard]] absl::Status Admit(size_t max_queued);

 private:
  metadata::SmallRecordStore& store_;
  std::function<int64_t()> now_ms_;
};

// May process `me` claim `job` (some task of it) at `now_ms`? Unfinished,
// due (next try reached), and with a claimable task (ClaimableTasks).
bool Claimable(const JobRecord& job, std::string_view me, int64_t now_ms);
// The tasks of an unfinished, due job that `me` may claim at `now_ms`, in
// order: not done, not `last` while another task is not done, and unowned,
// owned by `me`, or owned by a process whose lease on it has expired. A job
// without tasks gives {kWholeJob} when the job itself is claimable so.
std::vector<int> ClaimableTasks(const JobRecord& job, std::string_view me, int64_t now_ms);

// The jobs in the order a process should try to claim them: least remaining
// work first (so a long video cannot hold back short ones), then the oldest,
// then by id.
void SortForClaiming(std::vector<JobRecord>& jobs);

}  // namespace dvs::jobs
