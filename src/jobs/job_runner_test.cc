// JobRunner and JobStore on both backends (SQLite, and a real 3-member etcd):
// claims, leases, takeover, restarts, retries, order and admission.
#include "jobs/job_runner.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "jobs/test_backends.h"

namespace dvs::jobs {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

[[maybe_unused]] ::testing::Environment* const kEtcd =
    ::testing::AddGlobalTestEnvironment(new testing::EtcdEnvironment);

bool Eventually(const std::function<bool()>& check, std::chrono::milliseconds limit = 20s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return check();
}

// Counts the runs of each job, and can hold a run until released.
class Recorder {
 public:
  JobRunner::Work Succeed() {
    return [this](const JobRecord& job, const std::atomic<bool>&) {
      Note(job.video_id);
      return absl::OkStatus();
    };
  }
  JobRunner::Work Fail(absl::Status error) {
    return [this, error](const JobRecord& job, const std::atomic<bool>&) {
      Note(job.video_id);
      return error;
    };
  }
  // Runs until Release(), or until cancelled (then returns Cancelled).
  JobRunner::Work Hold() {
    return [this](const JobRecord& job, const std::atomic<bool>& cancel) {
      Note(job.video_id);
      while (!released_ && !cancel) std::this_thread::sleep_for(5ms);
      return cancel ? absl::CancelledError("cancelled") : absl::OkStatus();
    };
  }
  void Release() { released_ = true; }
  int Runs(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    return runs_[id];
  }
  std::vector<std::string> Order() {
    std::lock_guard<std::mutex> lock(mutex_);
    return order_;
  }

 private:
  void Note(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++runs_[id];
    order_.push_back(id);
  }
  std::mutex mutex_;
  std::map<std::string, int> runs_;
  std::vector<std::string> order_;
  std::atomic<bool> released_{false};
};

template <typename Backend>
class JobRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.SetUp();
    store_ = backend_.Open();
    ASSERT_NE(store_, nullptr);
    jobs_ = std::make_unique<JobStore>(*store_, clock_.AsFunction());
  }

  JobRecord Add(const std::string& id, double duration_s = 10, std::string generation = "gen1") {
    JobRecord job;
    job.video_id = id;
    job.generation = std::move(generation);
    job.source = absl::StrCat(id, "/source");
    job.duration_s = duration_s;
    absl::StatusOr<JobRecord> added = jobs_->Add(job);
    EXPECT_TRUE(added.ok()) << added.status();
    return added.ok() ? *added : job;
  }
  // A job of `names` tasks, the last one marked `last` (the packaging).
  JobRecord AddWithTasks(const std::string& id, double duration_s,
                         const std::vector<std::string>& names) {
    JobRecord job;
    job.video_id = id;
    job.generation = "gen1";
    job.source = absl::StrCat(id, "/source");
    job.duration_s = duration_s;
    for (const std::string& name : names) job.tasks.push_back({name});
    job.tasks.back().last = true;
    absl::StatusOr<JobRecord> added = jobs_->Add(job);
    EXPECT_TRUE(added.ok()) << added.status();
    return added.ok() ? *added : job;
  }
  // A runner not started (the test drives RunOne / RenewLeases) unless asked.
  std::unique_ptr<JobRunner> Runner(metadata::SmallRecordStore& store, JobRunner::Work work,
                                    JobRunner::Options options = Fast(),
                                    JobRunner::StillWanted still_wanted = nullptr) {
    return std::make_unique<JobRunner>(store, clock_.AsFunction(), std::move(options),
                                       std::move(work), std::move(still_wanted));
  }
  static JobRunner::Options Fast(int slots = 1) {
    JobRunner::Options options;
    options.slots = slots;
    options.lease_ms = 30'000;
    options.heartbeat_interval = 20ms;
    options.poll_interval = 10ms;
    return options;
  }
  JobRecord Read(const std::string& id) {
    absl::StatusOr<JobRecord> job = jobs_->Read(id);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *job : JobRecord{};
  }
  bool Gone(const std::string& id) {
    return jobs_->Read(id).status().code() == absl::StatusCode::kNotFound;
  }

  Backend backend_;
  FakeClock clock_;
  std::unique_ptr<metadata::VideoMetadataService> store_;
  std::unique_ptr<JobStore> jobs_;
  Recorder recorder_;
};

using Backends = ::testing::Types<testing::SqliteBackend, testing::EtcdBackend>;
TYPED_TEST_SUITE(JobRunnerTest, Backends, testing::BackendNames);

TYPED_TEST(JobRunnerTest, TwoProcessesRacingForOneJobRunItExactlyOnce) {
  auto other_store = this->backend_.Open();
  auto first = this->Runner(*this->store_, this->recorder_.Succeed());
  auto second = this->Runner(*other_store, this->recorder_.Succeed());
  for (int round = 0; round < 5; ++round) {
    const std::string id = absl::StrCat("race-", round);
    this->Add(id);
    std::latch start(2);
    std::atomic<int> claimed = 0;
    auto race = [&](JobRunner& runner) {
      start.arrive_and_wait();
      absl::StatusOr<bool> ran = runner.RunOne();
      EXPECT_TRUE(ran.ok()) << ran.status();
      if (ran.ok() && *ran) ++claimed;
    };
    std::thread a(race, std::ref(*first)), b(race, std::ref(*second));
    a.join();
    b.join();
    EXPECT_EQ(claimed, 1) << id;
    EXPECT_EQ(this->recorder_.Runs(id), 1) << id;
    EXPECT_TRUE(this->Gone(id)) << id;
  }
}

TYPED_TEST(JobRunnerTest, RunningRunnersShareTheQueueAndRunEachJobOnce) {
  auto other_store = this->backend_.Open();
  auto first = this->Runner(*this->store_, this->recorder_.Succeed(), this->Fast(2));
  auto second = this->Runner(*other_store, this->recorder_.Succeed(), this->Fast(2));
  ASSERT_TRUE(first->Start().ok());
  ASSERT_TRUE(second->Start().ok());
  for (int i = 0; i < 12; ++i) this->Add(absl::StrCat("clip-", i));
  first->Wake();
  second->Wake();
  EXPECT_TRUE(Eventually([&] { return this->jobs_->List()->empty(); }));
  first->Stop();
  second->Stop();
  for (int i = 0; i < 12; ++i) EXPECT_EQ(this->recorder_.Runs(absl::StrCat("clip-", i)), 1) << i;
}

TYPED_TEST(JobRunnerTest, ALiveOwnersJobIsLeftAloneAndAnExpiredOnesIsTakenOver) {
  JobRecord job = this->Add("clip");
  job.owner = "deadbeefdeadbeef";
  job.state = JobState::kRunning;
  job.lease_expires_at_ms = this->clock_.now() + 30'000;
  ASSERT_TRUE(this->jobs_->Write(job).ok());
  auto runner = this->Runner(*this->store_, this->recorder_.Succeed());
  EXPECT_FALSE(*runner->RunOne());
  this->clock_.Advance(29'999);
  EXPECT_FALSE(*runner->RunOne());
  EXPECT_EQ(this->recorder_.Runs("clip"), 0);
  this->clock_.Advance(1);
  EXPECT_TRUE(*runner->RunOne());
  EXPECT_EQ(this->recorder_.Runs("clip"), 1);
  EXPECT_TRUE(this->Gone("clip"));
}

TYPED_TEST(JobRunnerTest, AProcessNotReadyToClaimLeavesTheJobQueuedUntilItIs) {
  this->Add("clip");
  std::atomic<bool> full{true};
  JobRunner::Options options = this->Fast();
  options.ready_to_claim = [&full] {
    return full ? absl::ResourceExhaustedError("the work folder is full") : absl::OkStatus();
  };
  auto runner = this->Runner(*this->store_, this->recorder_.Succeed(), options);
  EXPECT_FALSE(*runner->RunOne());
  EXPECT_FALSE(*runner->RunOne());
  EXPECT_EQ(this->recorder_.Runs("clip"), 0);
  const JobRecord queued = this->Read("clip");
  EXPECT_TRUE(queued.owner.empty()) << queued.owner;
  EXPECT_EQ(queued.attempts, 0);
  full = false;
  EXPECT_TRUE(*runner->RunOne());
  EXPECT_EQ(this->recorder_.Runs("clip"), 1);
  EXPECT_TRUE(this->Gone("clip"));
}

TYPED_TEST(JobRunnerTest, AProcessResumesItsOwnJobAfterARestartWithoutWaiting) {
  JobRecord job = this->Add("clip");
  job.owner = "0123456789abcdef";
  job.state = JobState::kRunning;
  job.lease_expires_at_ms = this->clock_.now() + 30'000;
  ASSERT_TRUE(this->jobs_->Write(job).ok());
  JobRunner::Options options = this->Fast();
  options.process_id = "0123456789abcdef";
  auto runner = this->Runner(*this->store_, this->recorder_.Succeed(), options);
  EXPECT_TRUE(*runner->RunOne());
  EXPECT_EQ(this->recorder_.Runs("clip"), 1);
}

TYPED_TEST(JobRunnerTest, ARestartOfOneProcessDoesNotTouchAnothersRunningJob) {
  auto other_store = this->backend_.Open();
  auto a = this->Runner(*this->store_, this->recorder_.Hold());
  ASSERT_TRUE(a->Start().ok());
  this->Add("clip");
  a->Wake();
  ASSERT_TRUE(Eventually([&] { return this->recorder_.Runs("clip") == 1; }));
  for (int restart = 0; restart < 2; ++restart) {
    auto b = this->Runner(*other_store, this->recorder_.Succeed(), this->Fast(1));
    ASSERT_TRUE(b->Start().ok());
    EXPECT_FALSE(*b->RunOne());
    std::this_thread::sleep_for(50ms);  // b's slot polls a few times too
    b->Stop();
  }
  JobRecord job = this->Read("clip");
  EXPECT_EQ(job.owner, a->process_id());
  EXPECT_EQ(job.state, JobState::kRunning);
  EXPECT_EQ(this->recorder_.Runs("clip"), 1);
  this->recorder_.Release();
  EXPECT_TRUE(Eventually([&] { return this->Gone("clip"); }));
  a->Stop();
}

TYPED_TEST(JobRunnerTest, StoppingAProcessGivesItsRunningJobBackForAnotherToTake) {
  auto a = this->Runner(*this->store_, this->recorder_.Hold());
  ASSERT_TRUE(a->Start().ok());
  this->Add("clip");
  a->Wake();
  ASSERT_TRUE(Eventually([&] { return this->recorder_.Runs("clip") == 1; }));
  a->Stop();
  JobRecord job = this->Read("clip");
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_TRUE(job.owner.empty());
  EXPECT_EQ(job.attempts, 0);  // a stop is not a failure
  auto b = this->Runner(*this->store_, this->recorder_.Succeed());
  EXPECT_TRUE(*b->RunOne());
  EXPECT_TRUE(this->Gone("clip"));
}

TYPED_TEST(JobRunnerTest, RetryableErrorsBackOffAndFailOncePastTheRetryTime) {
  JobRunner::Options options = this->Fast();
  options.retry = {.first_delay_ms = 2'000, .max_delay_ms = 8'000, .retry_for_ms = 20'000};
  auto runner = this->Runner(
      *this->store_, this->recorder_.Fail(absl::UnavailableError("short of a majority")), options);
  this->Add("clip");
  const int64_t first_failure = this->clock_.now();
  for (int attempt = 1; attempt < 20; ++attempt) {
    ASSERT_TRUE(*runner->RunOne()) << attempt;
    JobRecord job = this->Read("clip");
    EXPECT_EQ(job.attempts, attempt);
    if (job.state == JobState::kFailed) {
      EXPECT_GE(this->clock_.now() - first_failure, 20'000);
      EXPECT_EQ(job.last_error.rfind("gave up after ", 0), 0u) << job.last_error;
      EXPECT_NE(job.last_error.find("short of a majority"), std::string::npos);
      break;
    }
    ASSERT_EQ(job.state, JobState::kQueued);
    EXPECT_LT(this->clock_.now() - first_failure, 20'000);
    const int64_t delay = job.next_try_at_ms - this->clock_.now();
    const int64_t base = std::min<int64_t>(8'000, int64_t{2'000} << (attempt - 1));
    EXPECT_GE(delay, base / 2) << attempt;
    EXPECT_LE(delay, base) << attempt;
    this->clock_.Advance(delay - 1);
    EXPECT_FALSE(*runner->RunOne()) << "ran before its next try";
    this->clock_.Advance(1);
  }
  EXPECT_EQ(this->Read("clip").state, JobState::kFailed);
  EXPECT_FALSE(*runner->RunOne());
}

TYPED_TEST(JobRunnerTest, APermanentErrorFailsAtOnceAndARequeueRunsItAgain) {
  JobRunner::Options options = this->Fast();
  std::vector<std::string> failed;
  options.on_failed = [&](const JobRecord& job) { failed.push_back(job.last_error); };
  auto runner =
      this->Runner(*this->store_,
                   this->recorder_.Fail(absl::FailedPreconditionError("no video stream")), options);
  this->Add("clip");
  EXPECT_TRUE(*runner->RunOne());
  EXPECT_EQ(failed, (std::vector<std::string>{"no video stream"}));
  JobRecord job = this->Read("clip");
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(job.last_error, "no video stream");
  this->clock_.Advance(3'600'000);
  EXPECT_FALSE(*runner->RunOne());
  EXPECT_EQ(this->jobs_->Requeue("clip").status().code(), absl::StatusCode::kOk);
  EXPECT_TRUE(*runner->RunOne());
  EXPECT_EQ(this->recorder_.Runs("clip"), 2);
  EXPECT_EQ(this->jobs_->Requeue("nope").status().code(), absl::StatusCode::kNotFound);
}

TYPED_TEST(JobRunnerTest, ShortVideosRunBeforeALongOneQueuedFirst) {
  this->Add("long", 3600);
  this->clock_.Advance(1);
  this->Add("mid", 60);
  this->clock_.Advance(1);
  this->Add("short", 5);
  auto runner = this->Runner(*this->store_, this->recorder_.Succeed());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(*runner->RunOne());
  EXPECT_EQ(this->recorder_.Order(), (std::vector<std::string>{"short", "mid", "long"}));
}

// Notes "<video>/<task>" of each run; a run of `held` waits for the latch.
class TaskLog {
 public:
  JobRunner::Work Work(std::string held = "", absl::Status outcome = absl::OkStatus()) {
    return [this, held, outcome](const JobRecord& job, const std::atomic<bool>& cancel) {
      const std::string name =
          absl::StrCat(job.video_id, "/", job.task == kWholeJob ? "" : job.tasks[job.task].name);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        runs_.push_back(name);
      }
      if (name != held) return outcome;
      while (!released_ && !cancel) std::this_thread::sleep_for(5ms);
      return cancel ? absl::CancelledError("cancelled") : outcome;
    };
  }
  void Release() { released_ = true; }
  std::vector<std::string> Runs() {
    std::lock_guard<std::mutex> lock(mutex_);
    return runs_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> runs_;
  std::atomic<bool> released_{false};
};

TYPED_TEST(JobRunnerTest, TwoProcessesShareOneJobsTasksAndTheLastRunsAfterTheRest) {
  this->AddWithTasks("long", 600, {"video-0", "video-1", "audio", "package"});
  TaskLog log;
  auto other_store = this->backend_.Open();
  auto a = this->Runner(*this->store_, log.Work("long/video-0"));
  auto b = this->Runner(*other_store, log.Work());
  std::thread holder([&] { EXPECT_TRUE(*a->RunOne()); });
  ASSERT_TRUE(Eventually([&] { return log.Runs().size() == 1; }));
  EXPECT_TRUE(*b->RunOne());   // video-1: video-0 is A's, held
  EXPECT_TRUE(*b->RunOne());   // audio
  EXPECT_FALSE(*b->RunOne());  // the packaging waits for video-0
  JobRecord job = this->Read("long");
  EXPECT_EQ(job.tasks[0].owner, a->process_id());
  EXPECT_TRUE(job.tasks[1].done && job.tasks[2].done);
  EXPECT_DOUBLE_EQ(job.RemainingWork(), 300);
  log.Release();
  holder.join();
  EXPECT_TRUE(*b->RunOne());  // the packaging
  EXPECT_TRUE(this->Gone("long"));
  EXPECT_EQ(log.Runs(), (std::vector<std::string>{"long/video-0", "long/video-1", "long/audio",
                                                  "long/package"}));
}

TYPED_TEST(JobRunnerTest, ATaskOfADeadProcessIsTakenOverAloneOnceItsLeaseExpires) {
  this->AddWithTasks("long", 600, {"video-0", "video-1", "package"});
  TaskLog log;
  JobRecord job = this->Read("long");
  job.tasks[0].owner = "deadbeefdeadbeef";  // a process that died running video-0
  job.tasks[0].lease_expires_at_ms = this->clock_.now() + 30'000;
  job.tasks[1].done = true;
  ASSERT_TRUE(this->jobs_->Write(job).ok());
  auto runner = this->Runner(*this->store_, log.Work());
  EXPECT_FALSE(*runner->RunOne());
  this->clock_.Advance(30'000);
  EXPECT_TRUE(*runner->RunOne());
  EXPECT_TRUE(*runner->RunOne());
  EXPECT_TRUE(this->Gone("long"));
  EXPECT_EQ(log.Runs(), (std::vector<std::string>{"long/video-0", "long/package"}));
}

TYPED_TEST(JobRunnerTest, ATaskFailedForGoodFailsTheJobAndStopsItsOtherTasks) {
  this->AddWithTasks("bad", 60, {"video-0", "video-1", "package"});
  TaskLog log;
  auto other_store = this->backend_.Open();
  auto a = this->Runner(*this->store_, log.Work("bad/video-0"));
  auto b = this->Runner(*other_store, log.Work("", absl::InvalidArgumentError("not a video")));
  std::thread holder([&] { EXPECT_TRUE(*a->RunOne()); });
  ASSERT_TRUE(Eventually([&] { return log.Runs().size() == 1; }));
  EXPECT_TRUE(*b->RunOne());  // video-1 fails for good
  JobRecord job = this->Read("bad");
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.last_error, "not a video");
  a->RenewLeases();  // A sees the job failed: its task is cancelled, no outcome recorded
  holder.join();
  EXPECT_EQ(this->Read("bad").revision, job.revision);
}

TYPED_TEST(JobRunnerTest, AShortVideoQueuedBehindALongOnesTasksRunsBeforeTheRestOfThem) {
  this->AddWithTasks("long", 3600, {"video-0", "video-1", "video-2", "package"});
  TaskLog log;
  auto runner = this->Runner(*this->store_, log.Work());
  EXPECT_TRUE(*runner->RunOne());  // long/video-0; 2700 s of work left
  this->clock_.Advance(1000);
  this->Add("short", 30);
  this->clock_.Advance(1000);
  this->AddWithTasks("mid", 600, {"video-0", "package"});
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(*runner->RunOne());
  EXPECT_FALSE(*runner->RunOne());
  EXPECT_EQ(log.Runs(),
            (std::vector<std::string>{"long/video-0", "short/", "mid/video-0", "mid/package",
                                      "long/video-1", "long/video-2", "long/package"}));
}

TYPED_TEST(JobRunnerTest, AdmissionStopsAtTheBoundOfUnfinishedJobs) {
  EXPECT_TRUE(this->jobs_->Admit(2).ok());
  this->Add("one");
  EXPECT_TRUE(this->jobs_->Admit(2).ok());
  this->Add("two", 1);
  absl::Status full = this->jobs_->Admit(2);
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(full.message(),
            "2 videos are waiting to be processed, the limit is 2; try again later");
  EXPECT_TRUE(this->jobs_->Admit(0).ok());  // no bound
  // A failed job does not wait any more.
  auto runner =
      this->Runner(*this->store_, this->recorder_.Fail(absl::InvalidArgumentError("bad")));
  EXPECT_TRUE(*runner->RunOne());
  EXPECT_TRUE(this->jobs_->Admit(2).ok());
}

TYPED_TEST(JobRunnerTest, AJobThisProcessCannotRunIsLeftUnclaimedForOthers) {
  this->Add("elsewhere");
  this->Add("here", 20);
  JobRunner::Options options = this->Fast();
  options.can_run = [](const JobRecord& job) { return job.video_id == "here"; };
  auto runner = this->Runner(*this->store_, this->recorder_.Succeed(), options);
  EXPECT_TRUE(*runner->RunOne());
  EXPECT_FALSE(*runner->RunOne());
  EXPECT_EQ(this->recorder_.Runs("here"), 1);
  JobRecord left = this->Read("elsewhere");
  EXPECT_EQ(left.state, JobState::kQueued);
  EXPECT_TRUE(left.owner.empty());
}

TYPED_TEST(JobRunnerTest, AJobWhoseVideoIsGoneIsDroppedUnrun) {
  this->Add("gone");
  this->Add("kept", 20);
  auto runner = this->Runner(
      *this->store_, this->recorder_.Succeed(), this->Fast(),
      [](const JobRecord& job) -> absl::StatusOr<bool> { return job.video_id != "gone"; });
  EXPECT_TRUE(*runner->RunOne());
  EXPECT_FALSE(*runner->RunOne());
  EXPECT_EQ(this->recorder_.Runs("gone"), 0);
  EXPECT_EQ(this->recorder_.Runs("kept"), 1);
  EXPECT_TRUE(this->Gone("gone"));
}

TYPED_TEST(JobRunnerTest, AJobReplacedByANewUploadIsCancelledAndLeavesTheNewOneAlone) {
  auto runner = this->Runner(*this->store_, this->recorder_.Hold());
  this->Add("clip", 10, "gen1");
  std::thread slot([&] { EXPECT_TRUE(*runner->RunOne()); });
  ASSERT_TRUE(Eventually([&] { return this->recorder_.Runs("clip") == 1; }));
  // The video is deleted and uploaded again: a new generation's job.
  ASSERT_TRUE(this->jobs_->RemoveVideo("clip").ok());
  this->Add("clip", 10, "gen2");
  runner->RenewLeases();  // finds the job replaced and raises the cancel flag
  slot.join();
  JobRecord job = this->Read("clip");
  EXPECT_EQ(job.generation, "gen2");
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_TRUE(job.owner.empty());
  this->recorder_.Release();
  EXPECT_TRUE(*runner->RunOne());  // and the new one runs
  EXPECT_EQ(this->recorder_.Runs("clip"), 2);
}

TYPED_TEST(JobRunnerTest, CancellingARunningJobStopsItAndRecordsNoOutcome) {
  auto runner = this->Runner(*this->store_, this->recorder_.Hold());
  this->Add("clip");
  std::thread slot([&] { EXPECT_TRUE(*runner->RunOne()); });
  ASSERT_TRUE(Eventually([&] { return this->recorder_.Runs("clip") == 1; }));
  runner->Cancel("clip");
  slot.join();                         // the work saw the flag
  JobRecord job = this->Read("clip");  // the deleter removes it; the runner leaves it be
  EXPECT_EQ(job.state, JobState::kRunning);
  EXPECT_EQ(job.attempts, 0);
}

TYPED_TEST(JobRunnerTest, AnExclusiveProcessIdTakesOverItsOwnLiveRecordAfterARestart) {
  ProcessHeartbeat before(*this->store_, this->clock_.AsFunction(), "0123456789abcdef", "web",
                          15'000, /*exclusive_id=*/true);
  ASSERT_TRUE(before.Start().ok());
  ProcessHeartbeat after(*this->store_, this->clock_.AsFunction(), "0123456789abcdef", "web",
                         15'000, /*exclusive_id=*/true);
  EXPECT_TRUE(after.Start().ok());
  EXPECT_TRUE(after.Renew().ok());
}

TYPED_TEST(JobRunnerTest, MaintenanceRunsSoonAfterStartThenEveryInterval) {
  JobRunner::Options options = this->Fast(0);
  std::atomic<int> runs = 0;
  options.maintenance = [&] { ++runs; };
  options.maintenance_interval = 100ms;
  auto runner = this->Runner(*this->store_, this->recorder_.Succeed(), options);
  ASSERT_TRUE(runner->Start().ok());
  EXPECT_TRUE(Eventually([&] { return runs >= 1; }, 2s));
  EXPECT_TRUE(Eventually([&] { return runs >= 3; }, 5s));
  runner->Stop();
  const int stopped_at = runs;
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(runs, stopped_at);
}

TYPED_TEST(JobRunnerTest, ARunnerWithNoSlotsClaimsNothingButIsAlive) {
  auto runner = this->Runner(*this->store_, this->recorder_.Succeed(), this->Fast(0));
  ASSERT_TRUE(runner->Start().ok());
  this->Add("clip");
  runner->Wake();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(this->Read("clip").state, JobState::kQueued);
  EXPECT_EQ(this->recorder_.Runs("clip"), 0);
  EXPECT_TRUE(*IsProcessAlive(*this->store_, runner->process_id(), this->clock_.now()));
  runner->Stop();
  EXPECT_FALSE(*IsProcessAlive(*this->store_, runner->process_id(), this->clock_.now()));
}

TYPED_TEST(JobRunnerTest, TwoLiveProcessesCannotShareAProcessId) {
  ProcessHeartbeat first(*this->store_, this->clock_.AsFunction(), "0123456789abcdef", "web",
                         15'000);
  ASSERT_TRUE(first.Start().ok());
  auto other_store = this->backend_.Open();
  ProcessHeartbeat second(*other_store, this->clock_.AsFunction(), "0123456789abcdef", "web",
                          15'000);
  EXPECT_EQ(second.Start().code(), absl::StatusCode::kFailedPrecondition);
  this->clock_.Advance(10'000);
  ASSERT_TRUE(first.Renew().ok());
  this->clock_.Advance(10'000);
  EXPECT_EQ(second.Start().code(), absl::StatusCode::kFailedPrecondition);  // renewed
  this->clock_.Advance(15'000);
  EXPECT_FALSE(*IsProcessAlive(*this->store_, "0123456789abcdef", this->clock_.now()));
  EXPECT_TRUE(second.Start().ok());  // the first is dead: its id may be taken
}

}  // namespace
}  // namespace dvs::jobs
