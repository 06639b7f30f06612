// JobRunner: runs the jobs of the shared queue (job_store.h) in this
// process, through a "process one job" callback, with up to `slots` at once.
//
// It promises:
// - a job runs here only after this process claimed it by compare-and-set
//   (owner := this process, a lease); of several processes that try, one wins;
// - a job with tasks (job_record.h) is claimed a task at a time, each with
//   its own owner and lease, so several processes (and several slots of
//   one) share it; the callback sees the claimed task in JobRecord::task.
//   A task's success marks it done, and the record goes with the last one;
//   an error is the job's (retry with backoff, or failed for good), and a
//   job failed for good stops its other tasks wherever they run;
// - it takes only unowned jobs, its own, and those whose owner's lease has
//   expired (a process that died): a restart of another process never
//   touches the jobs this one runs, and the other way round;
// - while a job runs, its lease (and this process's liveness record) is
//   renewed every heartbeat_interval; if the job is taken over meanwhile or
//   its video is deleted or uploaded anew, the callback's cancel flag is
//   raised and the outcome is not recorded;
// - the outcome is recorded by compare-and-set: done deletes the record; a
//   retryable error queues it again after a backoff, a permanent one (or a
//   retryable one past the retry time) fails it with the reason (retry.h);
// - Stop gives the running jobs back (queued, unowned) for any process to
//   take at once.
//
// With slots = 0 (`--jobs 0`) it claims nothing. The clock is injected (now_ms,
// for records and leases); the waits between polls and heartbeats are real.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "jobs/job_record.h"
#include "jobs/job_store.h"
#include "jobs/process_heartbeat.h"
#include "jobs/retry.h"
#include "metadata/small_record_store.h"

namespace dvs::jobs {

class JobRunner {
 public:
  // Does the job. OK: it is complete. Cancelled: the job is not wanted any
  // more (its video is gone) or `cancel` was raised. Any other error is
  // sorted by ClassifyError. Called on a slot thread; it should look at
  // `cancel` between steps.
  using Work = std::function<absl::Status(const JobRecord& job, const std::atomic<bool>& cancel)>;
  // Is the job still wanted: its video exists at the job's generation? false
  // drops the job unrun; an error leaves it for a later look.
  using StillWanted = std::function<absl::StatusOr<bool>(const JobRecord& job)>;

  struct Options {
    std::string process_id;  // empty: a new random one
    std::string role = "web";
    int slots = 1;  // jobs at once; 0 claims nothing
    int64_t lease_ms = 30'000;
    std::chrono::milliseconds heartbeat_interval{5'000};  // < lease_ms / 2
    std::chrono::milliseconds poll_interval{1'000};       // idle slots look again
    RetryPolicy retry;
    // The caller holds the process id alone (a lock on a file that keeps
    // it): a live liveness record of that id is this process's before a
    // restart, and is taken over rather than refused.
    bool process_id_is_exclusive = false;
    // Can this process run the job at all (has it the source)? Jobs it
    // cannot are left for the others, unclaimed. Unset: every job.
    std::function<bool(const JobRecord& job)> can_run;
    // Can this process take on any job now (is there room on its work
    // folder)? An error: it claims nothing this round and looks again after
    // poll_interval; the reason is logged when it starts and when it ends.
    // Unset: always.
    std::function<absl::Status()> ready_to_claim;
    // Housekeeping (dropping the sources of long-failed jobs, say), run on
    // the heartbeat thread soon after Start and then every
    // maintenance_interval.
    std::function<void()> maintenance;
    std::chrono::milliseconds maintenance_interval{std::chrono::minutes(10)};
    // Called on the slot thread after a job was marked failed for good.
    std::function<void(const JobRecord& job)> on_failed;
  };

  JobRunner(metadata::SmallRecordStore& store, std::function<int64_t()> now_ms, Options options,
            Work work, StillWanted still_wanted = nullptr);
  ~JobRunner();  // Stop()
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Writes this process's liveness record, then starts the heartbeat and the
  // slots. InvalidArgument for options that cannot work; FailedPrecondition
  // when a live process has this process id.
  [[nodiscard]] absl::Status Start();
  // Raises the cancel flag of every running job, waits for the callbacks,
  // gives their jobs back, deletes the liveness record. Idempotent.
  void Stop();
  // A job was added: idle slots look now rather than at their next poll.
  void Wake();
  // The video's job, if it runs here, is not wanted any more (the video was
  // deleted): raises its cancel flag; its outcome is not recorded.
  void Cancel(std::string_view video_id);

  // One step of a slot, in the caller's thread (the slots call it; tests
  // too): claims the first claimable job in queue order and runs it. false
  // when there was none to claim, or ready_to_claim said no.
  [[nodiscard]] absl::StatusOr<bool> RunOne();
  // One step of the heartbeat: renews the lease of every job running here.
  void RenewLeases();

  const std::string& process_id() const { return options_.process_id; }
  JobStore& jobs() { return jobs_; }

 private:
  enum class StopReason { kNone, kStopping, kLost, kGone };
  struct Running {
    JobRecord record;                       // the latest revision; guarded by the runner's mutex_
    StopReason reason = StopReason::kNone;  // guarded by the runner's mutex_
    std::atomic<bool> cancel{false};
  };

  // ready_to_claim's verdict now; logs when it turns to no and back to yes.
  bool ReadyToClaim();
  // Claims the next job and registers it as running here; nullptr if none.
  absl::StatusOr<std::shared_ptr<Running>> ClaimNext();
  // Claims `job`'s task job.task by compare-and-set; nullopt when another
  // process came first.
  absl::StatusOr<std::optional<JobRecord>> Claim(JobRecord job);
  // Claims a free task of `job` (re-reading it when another process wrote
  // it meanwhile); nullopt when none is left to claim.
  absl::StatusOr<std::optional<JobRecord>> ClaimTaskOf(JobRecord job);
  // Is task job.task of the job running in this process?
  bool RunsHere(const JobRecord& job);
  void Execute(const std::shared_ptr<Running>& running);
  void RecordOutcome(Running& running, const absl::Status& outcome);
  // Applies `change` to the latest record of a job running here, if it is
  // still ours (same generation, owned by this process), and writes it by
  // compare-and-set (or deletes it when `change` returns false), re-reading on
  // a conflict. NotFound when the job is gone or replaced by another
  // generation's; Aborted when another process owns it now.
  absl::Status UpdateOwned(Running& running, const std::function<bool(JobRecord&)>& change);
  absl::StatusOr<JobRecord> ReadOwned(const JobRecord& mine);
  void Drop(const JobRecord& job);
  void SlotLoop();
  void HeartbeatLoop();
  double UnitRandom();
  // Sleeps up to `period`; returns early when stopping (true), or when
  // woken (Wake) if `seen_wakes` is given: the count of wakes seen before.
  bool WaitFor(std::chrono::milliseconds period, std::optional<uint64_t> seen_wakes);

  JobStore jobs_;
  metadata::SmallRecordStore& store_;
  const std::function<int64_t()> now_ms_;
  Options options_;
  const Work work_;
  const StillWanted still_wanted_;
  ProcessHeartbeat heartbeat_;

  std::mutex claim_mutex_;  // one claim at a time here: list, claim, register
  std::mutex mutex_;
  std::condition_variable changed_;
  // By video id and task.
  std::map<std::string, std::shared_ptr<Running>> running_ ABSL_GUARDED_BY(mutex_);
  bool started_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  uint64_t wakes_ ABSL_GUARDED_BY(mutex_) = 0;
  bool refusing_ ABSL_GUARDED_BY(mutex_) = false;  // ready_to_claim said no last time
  std::mt19937_64 random_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::thread> threads_;
};

}  // namespace dvs::jobs
