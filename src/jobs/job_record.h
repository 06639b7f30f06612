// JobRecord: the durable record of one video's processing (DESIGN §9), kept
// in the metadata backend as a small record of kind "job" under the video's
// id, so any process that shares the backend can see, claim and resume it.
// One job per video: the ladder of its current generation; a job of an older
// generation is void and is replaced by the next upload's.
//
// Plain values; JSON in and out. Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace dvs::jobs {

inline constexpr std::string_view kJobKind = "job";

enum class JobState { kQueued, kRunning, kDone, kFailed };

std::string_view JobStateName(JobState state);

// A part of the ladder (a rendition, the audio, the packaging) that one
// process can make on its own, claimed apart from the job's other tasks
// (its own owner and lease), so several processes share one long video. A
// job without tasks is one piece of work, claimed through the job's owner
// and lease.
struct JobTask {
  std::string name;
  bool done = false;
  bool last = false;  // claimable only once every other task is done
  std::string owner;  // the claiming process's id; empty: anyone's
  int64_t lease_expires_at_ms = 0;

  bool operator==(const JobTask&) const = default;
};

// The index of "the whole job" for a job without tasks (JobRecord::task).
inline constexpr int kWholeJob = -1;

struct JobRecord {
  std::string video_id;
  std::string generation;
  std::string source;  // a content-service key or a local path
  JobState state = JobState::kQueued;
  std::vector<JobTask> tasks;
  std::string owner;                // without tasks: the claiming process's id
  int64_t lease_expires_at_ms = 0;  // without tasks: the owner's claim holds until then
  int attempts = 0;                 // runs that ended in an error
  int64_t next_try_at_ms = 0;       // not claimable before
  std::string last_error;
  int64_t created_at_ms = 0;
  int64_t first_error_at_ms = 0;  // the first retryable error since the last success; 0: none
  int64_t finished_at_ms = 0;     // when it became done or failed
  double duration_s = 0;          // the video's, for the queue order

  // Not stored in the value: the record's revision in the backend (0: not
  // read from it), and the task a runner claimed and runs (an index into
  // tasks, or kWholeJob).
  int64_t revision = 0;
  int task = kWholeJob;

  // The work left, in seconds of video: the duration times the share of
  // tasks not done yet. What the queue orders by, smallest first.
  double RemainingWork() const;
  // Queued or running: not finished either way.
  bool Unfinished() const { return state == JobState::kQueued || state == JobState::kRunning; }
  bool AllTasksDone() const;
  // The claim on task `task` (kWholeJob: the job's own): its owner and lease.
  const std::string& OwnerOf(int task) const;
  int64_t LeaseOf(int task) const;
  void SetClaim(int task, std::string owner, int64_t lease_expires_at_ms);
  // "the job of <id>", with " (task <name>)" for a task.
  std::string Describe(int task) const;

  bool operator==(const JobRecord&) const = default;
};

// InvalidArgument unless the video id, generation and owner are names
// (common::ValidateName), the source is not empty and no count or time is
// negative.
[[nodiscard]] absl::Status ValidateJob(const JobRecord& job);

std::string JobToJson(const JobRecord& job);
// The record stored under `key` at `revision`. InvalidArgument when the value
// is not a job record for that key.
[[nodiscard]] absl::StatusOr<JobRecord> JobFromJson(std::string_view key, std::string_view json,
                                                    int64_t revision);

}  // namespace dvs::jobs
