#include "jobs/job_store.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace dvs::jobs {
namespace {

// Records per ListSmall page: well under gRPC's message limit on etcd.
constexpr size_t kListPage = 256;

}  // namespace

JobStore::JobStore(metadata::SmallRecordStore& store, std::function<int64_t()> now_ms)
    : store_(store), now_ms_(std::move(now_ms)) {}

absl::StatusOr<JobRecord> JobStore::Add(JobRecord job) {
  job.state = JobState::kQueued;
  job.owner.clear();
  job.lease_expires_at_ms = job.attempts = 0;
  job.next_try_at_ms = job.first_error_at_ms = job.finished_at_ms = 0;
  job.last_error.clear();
  for (JobTask& task : job.tasks) task = {.name = task.name, .last = task.last};
  job.created_at_ms = now_ms_();
  RETURN_IF_ERROR(ValidateJob(job));
  int64_t expected = 0;
  absl::StatusOr<metadata::SmallRecord> raw = store_.ReadSmall(kJobKind, job.video_id);
  if (raw.ok()) {
    absl::StatusOr<JobRecord> existing = JobFromJson(raw->key, raw->value, raw->revision);
    if (existing.ok() && existing->generation == job.generation) return existing;
    expected = raw->revision;  // an older generation's, or unreadable: void either way
  } else if (raw.status().code() != absl::StatusCode::kNotFound) {
    return raw.status();
  }
  ASSIGN_OR_RETURN(job.revision,
                   store_.WriteSmall(kJobKind, job.video_id, JobToJson(job), expected));
  return job;
}

absl::StatusOr<JobRecord> JobStore::Read(std::string_view video_id) {
  ASSIGN_OR_RETURN(metadata::SmallRecord raw, store_.ReadSmall(kJobKind, video_id));
  return JobFromJson(raw.key, raw.value, raw.revision);
}

absl::StatusOr<std::vector<JobRecord>> JobStore::List() {
  std::vector<JobRecord> jobs;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(metadata::SmallRecordPage page, store_.ListSmall(kJobKind, after, kListPage));
    for (const metadata::SmallRecord& raw : page.records) {
      absl::StatusOr<JobRecord> job = JobFromJson(raw.key, raw.value, raw.revision);
      if (job.ok()) {
        jobs.push_back(std::move(*job));
      } else {
        spdlog::warn("skipping a job record: {}", job.status().ToString());
      }
    }
    if (!page.more || page.records.empty()) return jobs;
    after = page.records.back().key;
  }
}

absl::StatusOr<JobRecord> JobStore::Write(JobRecord job) {
  ASSIGN_OR_RETURN(job.revision,
                   store_.WriteSmall(kJobKind, job.video_id, JobToJson(job), job.revision));
  return job;
}

absl::Status JobStore::Remove(const JobRecord& job) {
  return store_.DeleteSmallAt(kJobKind, job.video_id, job.revision);
}

absl::Status JobStore::RemoveVideo(std::string_view video_id) {
  absl::Status status = store_.DeleteSmall(kJobKind, video_id);
  return status.code() == absl::StatusCode::kNotFound ? absl::OkStatus() : status;
}

absl::StatusOr<JobRecord> JobStore::Requeue(std::string_view video_id) {
  ASSIGN_OR_RETURN(JobRecord job, Read(video_id));
  if (job.state != JobState::kFailed) {
    return absl::FailedPreconditionError(
        absl::StrCat("the job of video \"", common::AsAbsl(video_id), "\" is ",
                     common::AsAbsl(JobStateName(job.state)), ", not failed"));
  }
  job.state = JobState::kQueued;
  job.attempts = 0;
  job.next_try_at_ms = job.first_error_at_ms = job.finished_at_ms = 0;
  job.owner.clear();
  job.lease_expires_at_ms = 0;
  for (JobTask& task : job.tasks) task = {.name = task.name, .last = task.last};
  return Write(std::move(job));
}

absl::Status JobStore::Admit(size_t max_queued) {
  if (max_queued == 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<JobRecord> jobs, List());
  size_t waiting = std::count_if(jobs.begin(), jobs.end(),
                                 [](const JobRecord& job) { return job.Unfinished(); });
  if (waiting < max_queued) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat(waiting, " videos are waiting to be processed, the limit is ", max_queued,
                   "; try again later"));
}

std::vector<int> ClaimableTasks(const JobRecord& job, std::string_view me, int64_t now_ms) {
  if (!job.Unfinished() || job.next_try_at_ms > now_ms) return {};
  auto free = [&](int task) {
    const std::string& owner = job.OwnerOf(task);
    return owner.empty() || owner == me || job.LeaseOf(task) <= now_ms;
  };
  if (job.tasks.empty()) return free(kWholeJob) ? std::vector<int>{kWholeJob} : std::vector<int>{};
  const size_t left = std::count_if(job.tasks.begin(), job.tasks.end(),
                                    [](const JobTask& task) { return !task.done; });
  std::vector<int> claimable;
  for (int i = 0; i < static_cast<int>(job.tasks.size()); ++i) {
    const JobTask& task = job.tasks[i];
    if (task.done || (task.last && left > 1)) continue;
    if (free(i)) claimable.push_back(i);
  }
  return claimable;
}

bool Claimable(const JobRecord& job, std::string_view me, int64_t now_ms) {
  return !ClaimableTasks(job, me, now_ms).empty();
}

void SortForClaiming(std::vector<JobRecord>& jobs) {
  std::sort(jobs.begin(), jobs.end(), [](const JobRecord& a, const JobRecord& b) {
    return std::make_tuple(a.RemainingWork(), a.created_at_ms, std::string_view(a.video_id)) <
           std::make_tuple(b.RemainingWork(), b.created_at_ms, std::string_view(b.video_id));
  });
}

}  // namespace dvs::jobs
