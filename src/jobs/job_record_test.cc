#include "jobs/job_record.h"

#include "gtest/gtest.h"
#include "jobs/job_store.h"

namespace dvs::jobs {
namespace {

JobRecord Sample() {
  JobRecord job;
  job.video_id = "clip";
  job.generation = "0123456789abcdef";
  job.source = "clip/0123456789abcdef/source";
  job.state = JobState::kRunning;
  job.tasks = {
      {"r360", true}, {"r720", false, false, "eeeeffff00001111", 6000}, {"pack", false, true}};
  job.owner = "aaaabbbbccccdddd";
  job.lease_expires_at_ms = 5000;
  job.attempts = 2;
  job.next_try_at_ms = 4000;
  job.last_error = "wrote clip to 1 of 3 nodes, short of a majority";
  job.created_at_ms = 1000;
  job.first_error_at_ms = 2000;
  job.duration_s = 30.5;
  job.revision = 7;
  return job;
}

TEST(JobRecordTest, JsonRoundTripKeepsEveryField) {
  JobRecord job = Sample();
  absl::StatusOr<JobRecord> read = JobFromJson("clip", JobToJson(job), 7);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, job);
}

TEST(JobRecordTest, ARecordUnderAnotherKeyOrWithBadValuesIsRefused) {
  EXPECT_EQ(JobFromJson("other", JobToJson(Sample()), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JobFromJson("clip", "not json", 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JobFromJson("clip", R"({"video_id":"clip"})", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  JobRecord bad = Sample();
  bad.attempts = -1;
  EXPECT_EQ(JobFromJson("clip", JobToJson(bad), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad = Sample();
  bad.generation = "../x";
  EXPECT_EQ(ValidateJob(bad).code(), absl::StatusCode::kInvalidArgument);
  std::string unknown_state = JobToJson(Sample());
  unknown_state.replace(unknown_state.find("running"), 7, "sleepin");
  EXPECT_EQ(JobFromJson("clip", unknown_state, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JobRecordTest, AnErrorThatIsNotUtf8IsStoredReplacedNotRefused) {
  JobRecord job = Sample();
  job.last_error = "ffmpeg said \xff\xfe";
  absl::StatusOr<JobRecord> read = JobFromJson("clip", JobToJson(job), 1);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_NE(read->last_error, job.last_error);
  EXPECT_EQ(read->last_error.rfind("ffmpeg said ", 0), 0u);
}

TEST(JobRecordTest, RemainingWorkIsTheDurationTimesTheShareOfTasksLeft) {
  JobRecord job = Sample();
  job.duration_s = 600;
  job.tasks.clear();
  EXPECT_DOUBLE_EQ(job.RemainingWork(), 600);
  job.tasks = {{"a", true}, {"b", true}, {"c", true}, {"d", false}};
  EXPECT_DOUBLE_EQ(job.RemainingWork(), 150);
}

TEST(JobRecordTest, ClaimableOnlyWhenUnfinishedDueAndUnownedMineOrExpired) {
  JobRecord job = Sample();  // running, owned by aaaa…, lease to 5000, next try 4000
  job.tasks.clear();
  EXPECT_FALSE(Claimable(job, "me", 4500));               // a live owner's
  EXPECT_TRUE(Claimable(job, "aaaabbbbccccdddd", 4500));  // its own
  EXPECT_TRUE(Claimable(job, "me", 5000));                // the lease has expired
  job.owner.clear();
  job.state = JobState::kQueued;
  EXPECT_FALSE(Claimable(job, "me", 3999));  // not due yet
  EXPECT_TRUE(Claimable(job, "me", 4000));
  job.state = JobState::kFailed;
  EXPECT_FALSE(Claimable(job, "me", 9000));
  job.state = JobState::kDone;
  EXPECT_FALSE(Claimable(job, "me", 9000));
}

TEST(JobRecordTest, ATasksClaimIsItsOwnAndTheLastTaskWaitsForTheOthers) {
  JobRecord job = Sample();  // r360 done; r720 eeee…'s to 6000; pack last; next try 4000
  EXPECT_EQ(ClaimableTasks(job, "me", 3999), std::vector<int>{});  // not due yet
  EXPECT_EQ(ClaimableTasks(job, "me", 4500), std::vector<int>{});  // r720 held, pack waits
  EXPECT_EQ(ClaimableTasks(job, "eeeeffff00001111", 4500), std::vector<int>{1});
  EXPECT_EQ(ClaimableTasks(job, "me", 6000), std::vector<int>{1});  // its lease expired
  job.tasks[1].done = true;
  EXPECT_EQ(ClaimableTasks(job, "me", 4500), std::vector<int>{2});
  EXPECT_TRUE(Claimable(job, "me", 4500));
  job.tasks.push_back({"r240"});
  EXPECT_EQ(ClaimableTasks(job, "me", 4500), std::vector<int>{3});
  job.state = JobState::kFailed;
  EXPECT_FALSE(Claimable(job, "me", 9000));
}

TEST(JobRecordTest, ATaskClaimIsSetAndReadApartFromTheJobs) {
  JobRecord job = Sample();
  job.SetClaim(2, "cccc", 9000);
  EXPECT_EQ(job.OwnerOf(2), "cccc");
  EXPECT_EQ(job.LeaseOf(2), 9000);
  EXPECT_EQ(job.OwnerOf(kWholeJob), "aaaabbbbccccdddd");
  EXPECT_EQ(job.Describe(2), "job of clip (task pack)");
  EXPECT_FALSE(job.AllTasksDone());
  for (JobTask& task : job.tasks) task.done = true;
  EXPECT_TRUE(job.AllTasksDone());
}

TEST(JobRecordTest, ClaimOrderIsLeastRemainingWorkThenOldestThenId) {
  std::vector<JobRecord> jobs(4, Sample());
  jobs[0].video_id = "long";
  jobs[0].duration_s = 3600;
  jobs[0].tasks.clear();
  jobs[1].video_id = "half-done";  // 600 s with one of two tasks left: 300
  jobs[1].duration_s = 600;
  jobs[2].video_id = "short-new";
  jobs[2].duration_s = 10;
  jobs[2].tasks.clear();
  jobs[2].created_at_ms = 2000;
  jobs[3].video_id = "short-old";
  jobs[3].duration_s = 10;
  jobs[3].tasks.clear();
  jobs[3].created_at_ms = 1000;
  SortForClaiming(jobs);
  std::vector<std::string> order;
  for (const JobRecord& job : jobs) order.push_back(job.video_id);
  EXPECT_EQ(order, (std::vector<std::string>{"short-old", "short-new", "half-done", "long"}));
}

}  // namespace
}  // namespace dvs::jobs
