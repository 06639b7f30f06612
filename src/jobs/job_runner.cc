#include "jobs/job_runner.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "metrics/registry.h"
#include "spdlog/spdlog.h"

namespace dvs::jobs {
namespace {

// Tries of a compare-and-set on one job before giving up for this round.
constexpr int kWriteTries = 5;

// The key of a running task in running_: the video id, and the task's index.
std::string RunKey(const JobRecord& job) { return absl::StrCat(job.video_id, "#", job.task); }

JobRunner::Options WithProcessId(JobRunner::Options options) {
  if (options.process_id.empty()) options.process_id = NewProcessId();
  return options;
}

// /metrics: how jobs and tasks end (done, task_done, retry, failed, dropped,
// given_back), and how long each run of one took.
void CountOutcome(const std::string& result) {
  static metrics::Family<metrics::Counter>& outcomes = metrics::DefaultRegistry().AddCounterFamily(
      "dvs_transcode_jobs_total", "Transcoding job runs in this process, by how they ended.",
      {"result"});
  outcomes.With({result}).Inc();
}

void ObserveRunTime(std::chrono::steady_clock::duration elapsed) {
  static metrics::Histogram& seconds = metrics::DefaultRegistry().AddHistogram(
      "dvs_transcode_seconds", "Time of each run of a transcoding job or task in this process.",
      metrics::LongTaskBuckets());
  seconds.Observe(std::chrono::duration<double>(elapsed).count());
}

// " (task <name>)" for a task, nothing for a whole job: for the log.
std::string TaskSuffix(const JobRecord& job) {
  if (job.task == kWholeJob || job.task >= static_cast<int>(job.tasks.size())) return "";
  return absl::StrCat(" (task ", job.tasks[job.task].name, ")");
}

}  // namespace

JobRunner::JobRunner(metadata::SmallRecordStore& store, std::function<int64_t()> now_ms,
                     Options options, Work work, StillWanted still_wanted)
    : jobs_(store, now_ms),
      store_(store),
      now_ms_(std::move(now_ms)),
      options_(WithProcessId(std::move(options))),
      work_(std::move(work)),
      still_wanted_(std::move(still_wanted)),
      heartbeat_(store, now_ms_, options_.process_id, options_.role, options_.lease_ms,
                 options_.process_id_is_exclusive),
      random_(std::random_device{}()) {}

JobRunner::~JobRunner() { Stop(); }

absl::Status JobRunner::Start() {
  if (options_.slots < 0 || options_.lease_ms <= 0 ||
      options_.heartbeat_interval.count() * 2 >= options_.lease_ms ||
      options_.poll_interval.count() <= 0) {
    return absl::InvalidArgumentError(
        "job runner: slots must be >= 0, and the heartbeat shorter than half the lease");
  }
  RETURN_IF_ERROR(heartbeat_.Start());
  std::lock_guard<std::mutex> lock(mutex_);
  started_ = true;
  threads_.emplace_back([this] { HeartbeatLoop(); });
  for (int i = 0; i < options_.slots; ++i) threads_.emplace_back([this] { SlotLoop(); });
  spdlog::info("process {} ({}) runs up to {} jobs at once", options_.process_id, options_.role,
               options_.slots);
  return absl::OkStatus();
}

void JobRunner::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, running] : running_) {
      running->reason = StopReason::kStopping;
      running->cancel = true;
    }
  }
  changed_.notify_all();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  bool started = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    started = started_;
  }
  if (!started) return;
  absl::Status stopped = heartbeat_.Stop();
  if (!stopped.ok()) spdlog::warn("cannot remove the liveness record: {}", stopped.ToString());
}

void JobRunner::Cancel(std::string_view video_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [key, running] : running_) {
    if (running->record.video_id != video_id) continue;
    running->reason = StopReason::kGone;
    running->cancel = true;
  }
}

void JobRunner::Wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++wakes_;
  }
  changed_.notify_all();
}

absl::StatusOr<bool> JobRunner::RunOne() {
  if (!ReadyToClaim()) return false;
  ASSIGN_OR_RETURN(std::shared_ptr<Running> running, ClaimNext());
  if (running == nullptr) return false;
  Execute(running);
  return true;
}

bool JobRunner::ReadyToClaim() {
  const absl::Status ready = options_.ready_to_claim ? options_.ready_to_claim() : absl::OkStatus();
  std::lock_guard<std::mutex> lock(mutex_);
  if (ready.ok() && refusing_) {
    spdlog::info("process {} claims jobs again", options_.process_id);
  } else if (!ready.ok() && !refusing_) {
    spdlog::warn("process {} claims no jobs for now (it looks again every {} ms): {}",
                 options_.process_id, options_.poll_interval.count(), ready.message());
  }
  refusing_ = !ready.ok();
  return ready.ok();
}

absl::StatusOr<std::shared_ptr<JobRunner::Running>> JobRunner::ClaimNext() {
  std::lock_guard<std::mutex> claiming(claim_mutex_);
  ASSIGN_OR_RETURN(std::vector<JobRecord> jobs, jobs_.List());
  const int64_t now = now_ms_();
  std::erase_if(jobs,
                [&](const JobRecord& job) { return !Claimable(job, options_.process_id, now); });
  if (options_.can_run) {
    std::erase_if(jobs, [&](const JobRecord& job) { return !options_.can_run(job); });
  }
  SortForClaiming(jobs);
  for (JobRecord& job : jobs) {
    if (still_wanted_) {
      absl::StatusOr<bool> wanted = still_wanted_(job);
      if (!wanted.ok()) {
        spdlog::warn("job of {}: cannot tell if it is wanted: {}", job.video_id,
                     wanted.status().ToString());
        continue;
      }
      if (!*wanted) {
        Drop(job);
        continue;
      }
    }
    ASSIGN_OR_RETURN(std::optional<JobRecord> claimed, ClaimTaskOf(std::move(job)));
    if (!claimed.has_value()) continue;
    auto running = std::make_shared<Running>();
    running->record = std::move(*claimed);
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) running->reason = StopReason::kStopping, running->cancel = true;
    running_[RunKey(running->record)] = running;
    return running;
  }
  return nullptr;
}

// Another process claiming another task of the same job changes the record:
// then it is read again and the next free task tried.
absl::StatusOr<std::optional<JobRecord>> JobRunner::ClaimTaskOf(JobRecord job) {
  for (int attempt = 0; attempt < kWriteTries; ++attempt) {
    bool conflict = false;
    for (int task : ClaimableTasks(job, options_.process_id, now_ms_())) {
      job.task = task;
      if (RunsHere(job)) continue;
      ASSIGN_OR_RETURN(std::optional<JobRecord> claimed, Claim(job));
      if (claimed.has_value()) return claimed;
      conflict = true;
      break;
    }
    if (!conflict) return std::nullopt;
    absl::StatusOr<JobRecord> fresh = jobs_.Read(job.video_id);
    if (absl::IsNotFound(fresh.status())) return std::nullopt;
    ASSIGN_OR_RETURN(job, std::move(fresh));
    if (options_.can_run && !options_.can_run(job)) return std::nullopt;
  }
  return std::nullopt;
}

bool JobRunner::RunsHere(const JobRecord& job) {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_.contains(RunKey(job));
}

absl::StatusOr<std::optional<JobRecord>> JobRunner::Claim(JobRecord job) {
  const std::string previous_owner = job.OwnerOf(job.task);
  job.SetClaim(job.task, options_.process_id, now_ms_() + options_.lease_ms);
  job.state = JobState::kRunning;
  absl::StatusOr<JobRecord> claimed = jobs_.Write(std::move(job));
  if (claimed.status().code() == absl::StatusCode::kAborted ||
      claimed.status().code() == absl::StatusCode::kNotFound) {
    return std::nullopt;  // another process came first, or the video went
  }
  if (!claimed.ok()) return claimed.status();
  if (!previous_owner.empty() && previous_owner != options_.process_id) {
    spdlog::info("job of {}: taken over from process {}, whose lease expired{}", claimed->video_id,
                 previous_owner, TaskSuffix(*claimed));
  }
  return std::move(*claimed);
}

void JobRunner::Execute(const std::shared_ptr<Running>& running) {
  JobRecord job;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job = running->record;
  }
  spdlog::info("job of {} (generation {}, attempt {}) starts{}", job.video_id, job.generation,
               job.attempts + 1, TaskSuffix(job));
  const auto started = std::chrono::steady_clock::now();
  absl::Status outcome = work_(job, running->cancel);
  ObserveRunTime(std::chrono::steady_clock::now() - started);
  RecordOutcome(*running, outcome);
  std::lock_guard<std::mutex> lock(mutex_);
  running_.erase(RunKey(job));
}

void JobRunner::RecordOutcome(Running& running, const absl::Status& outcome) {
  StopReason reason;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    reason = running.reason;
  }
  if (reason == StopReason::kLost || reason == StopReason::kGone) return;
  std::string id;
  std::string task;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    id = running.record.video_id;
    task = TaskSuffix(running.record);
  }
  absl::Status recorded;
  if (outcome.ok()) {
    // The task is done; the record goes with the job's last one.
    bool all_done = false;
    recorded = UpdateOwned(running, [&](JobRecord& job) {
      job.SetClaim(job.task, "", 0);
      if (job.task != kWholeJob) job.tasks[job.task].done = true;
      job.first_error_at_ms = 0;
      all_done = job.AllTasksDone();
      return !all_done;
    });
    CountOutcome(all_done ? "done" : "task_done");
    if (all_done) {
      spdlog::info("job of {} is done", id);
    } else {
      spdlog::info("job of {}: done{}", id, task);
    }
  } else if (outcome.code() == absl::StatusCode::kCancelled && reason == StopReason::kNone) {
    // Not wanted any more: the record goes.
    recorded = UpdateOwned(running, [](JobRecord&) { return false; });
    spdlog::info("job of {} was dropped", id);
    CountOutcome("dropped");
  } else if (outcome.code() == absl::StatusCode::kCancelled) {
    recorded = UpdateOwned(running, [](JobRecord& job) {
      job.SetClaim(job.task, "", 0);
      if (job.task == kWholeJob) job.state = JobState::kQueued;
      return true;
    });
    spdlog::info("job of {} given back{}", id, task);
    CountOutcome("given_back");
  } else {
    const int64_t now = now_ms_();
    const double random = UnitRandom();
    bool failed = false;
    recorded = UpdateOwned(running, [&](JobRecord& job) {
      RecordFailure(job, outcome, options_.retry, now, random);
      job.SetClaim(job.task, "", 0);
      failed = job.state == JobState::kFailed;
      return true;
    });
    spdlog::warn("job of {} failed ({}){}: {}", id, failed ? "for good" : "will retry", task,
                 outcome.ToString());
    CountOutcome(failed ? "failed" : "retry");
    if (recorded.ok() && failed && options_.on_failed) {
      JobRecord job;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        job = running.record;
      }
      options_.on_failed(job);
    }
  }
  if (!recorded.ok()) spdlog::warn("job of {}: outcome not recorded: {}", id, recorded.ToString());
}

absl::Status JobRunner::UpdateOwned(Running& running,
                                    const std::function<bool(JobRecord&)>& change) {
  for (int attempt = 0; attempt < kWriteTries; ++attempt) {
    JobRecord job;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job = running.record;
    }
    absl::Status status;
    if (change(job)) {
      absl::StatusOr<JobRecord> written = jobs_.Write(job);
      status = written.status();
      if (written.ok()) {
        std::lock_guard<std::mutex> lock(mutex_);
        running.record = std::move(*written);
      }
    } else {
      status = jobs_.Remove(job);
    }
    if (status.code() != absl::StatusCode::kAborted) return status;
    ASSIGN_OR_RETURN(JobRecord fresh, ReadOwned(job));
    std::lock_guard<std::mutex> lock(mutex_);
    running.record = std::move(fresh);
  }
  return absl::AbortedError("the job record kept changing under this process");
}

absl::StatusOr<JobRecord> JobRunner::ReadOwned(const JobRecord& mine) {
  ASSIGN_OR_RETURN(JobRecord fresh, jobs_.Read(mine.video_id));
  if (fresh.generation != mine.generation) {
    return absl::NotFoundError(absl::StrCat("video ", mine.video_id, " was uploaded anew"));
  }
  if (fresh.state == JobState::kFailed || fresh.tasks.size() != mine.tasks.size()) {
    return absl::NotFoundError(absl::StrCat("the job of ", mine.video_id, " failed meanwhile"));
  }
  fresh.task = mine.task;
  if (fresh.OwnerOf(fresh.task) != options_.process_id) {
    return absl::AbortedError(absl::StrCat(fresh.Describe(fresh.task), " is owned by process \"",
                                           fresh.OwnerOf(fresh.task), "\" now"));
  }
  return fresh;
}

void JobRunner::RenewLeases() {
  std::vector<std::shared_ptr<Running>> running;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [id, job] : running_) running.push_back(job);
  }
  for (const std::shared_ptr<Running>& job : running) {
    const int64_t expires = now_ms_() + options_.lease_ms;
    absl::Status renewed = UpdateOwned(*job, [&](JobRecord& record) {
      record.SetClaim(record.task, options_.process_id, expires);
      return true;
    });
    if (renewed.ok()) continue;
    StopReason reason = renewed.code() == absl::StatusCode::kNotFound  ? StopReason::kGone
                        : renewed.code() == absl::StatusCode::kAborted ? StopReason::kLost
                                                                       : StopReason::kNone;
    std::lock_guard<std::mutex> lock(mutex_);
    spdlog::warn("job of {}: lease not renewed: {}", job->record.video_id, renewed.ToString());
    if (reason == StopReason::kNone) continue;  // the backend is away: try again next beat
    if (job->reason == StopReason::kNone) job->reason = reason;
    job->cancel = true;
  }
}

void JobRunner::Drop(const JobRecord& job) {
  absl::Status removed = jobs_.Remove(job);
  if (removed.ok()) {
    spdlog::info("job of {} dropped: its video is gone or was uploaded anew", job.video_id);
  } else if (removed.code() != absl::StatusCode::kNotFound &&
             removed.code() != absl::StatusCode::kAborted) {
    spdlog::warn("job of {}: cannot drop it: {}", job.video_id, removed.ToString());
  }
}

void JobRunner::SlotLoop() {
  while (true) {
    uint64_t seen_wakes;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      seen_wakes = wakes_;
    }
    absl::StatusOr<bool> ran = RunOne();
    if (!ran.ok()) spdlog::warn("cannot look for jobs: {}", ran.status().ToString());
    if (ran.ok() && *ran) continue;
    if (WaitFor(options_.poll_interval, seen_wakes)) return;
  }
}

void JobRunner::HeartbeatLoop() {
  auto next_maintenance = std::chrono::steady_clock::now();
  while (!WaitFor(options_.heartbeat_interval, std::nullopt)) {
    absl::Status renewed = heartbeat_.Renew();
    if (!renewed.ok()) spdlog::warn("liveness record not renewed: {}", renewed.ToString());
    RenewLeases();
    if (options_.maintenance && std::chrono::steady_clock::now() >= next_maintenance) {
      options_.maintenance();
      next_maintenance = std::chrono::steady_clock::now() + options_.maintenance_interval;
    }
  }
}

bool JobRunner::WaitFor(std::chrono::milliseconds period, std::optional<uint64_t> seen_wakes) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, period,
                    [&] { return stopping_ || (seen_wakes.has_value() && wakes_ != *seen_wakes); });
  return stopping_;
}

double JobRunner::UnitRandom() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

}  // namespace dvs::jobs
