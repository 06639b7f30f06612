#include "jobs/retry.h"

#include <cerrno>

#include "gtest/gtest.h"

namespace dvs::jobs {
namespace {

TEST(RetryTest, TransientFaultsAreRetryableAndFaultsOfTheInputPermanent) {
  for (absl::Status status :
       {absl::UnavailableError("wrote x to 1 of 3 nodes, short of a majority"),
        absl::DeadlineExceededError("d"), absl::ResourceExhaustedError("no space"),
        absl::AbortedError("conflict"), absl::InternalError("cannot open: Too many open files")}) {
    EXPECT_EQ(ClassifyError(status), ErrorClass::kRetryable) << status;
  }
  for (absl::Status status :
       {absl::InvalidArgumentError("i"), absl::FailedPreconditionError("not a video"),
        absl::NotFoundError("the source is gone"), absl::DataLossError("d"),
        absl::PermissionDeniedError("p")}) {
    EXPECT_EQ(ClassifyError(status), ErrorClass::kPermanent) << status;
  }
  EXPECT_EQ(ClassifyError(absl::CancelledError("c")), ErrorClass::kCancelled);
}

TEST(RetryTest, ErrnoOfExhaustedResourcesAndIoIsRetryable) {
  for (int error : {EMFILE, ENFILE, ENOSPC, EIO, EAGAIN, EINTR, ECONNREFUSED}) {
    EXPECT_EQ(ClassifyErrno(error), ErrorClass::kRetryable) << error;
  }
  for (int error : {ENOENT, EACCES, EINVAL, EISDIR}) {
    EXPECT_EQ(ClassifyErrno(error), ErrorClass::kPermanent) << error;
  }
}

TEST(RetryTest, BackoffDoublesFromTheFirstDelayUpToTheMaxWithJitterOfUpToHalf) {
  RetryPolicy policy;  // 2 s doubling to 5 min
  EXPECT_EQ(BackoffDelayMs(policy, 1, 0.999999), 1999);
  EXPECT_EQ(BackoffDelayMs(policy, 1, 0.0), 1000);
  EXPECT_EQ(BackoffDelayMs(policy, 2, 0.0), 2000);
  EXPECT_EQ(BackoffDelayMs(policy, 3, 0.0), 4000);
  EXPECT_EQ(BackoffDelayMs(policy, 9, 0.0), 150'000);     // 512 s capped at 300 s, halved
  EXPECT_EQ(BackoffDelayMs(policy, 1000, 0.0), 150'000);  // no overflow
  EXPECT_GE(BackoffDelayMs(policy, 1000, 0.999999), 299'999);
}

TEST(RetryTest, ARetryableFailureQueuesTheJobAgainAfterTheBackoff) {
  JobRecord job;
  job.state = JobState::kRunning;
  job.owner = "me";
  job.lease_expires_at_ms = 50'000;
  RetryPolicy policy;
  RecordFailure(job, absl::UnavailableError("short of a majority"), policy, 10'000, 0.0);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(job.next_try_at_ms, 11'000);
  EXPECT_EQ(job.first_error_at_ms, 10'000);
  EXPECT_EQ(job.last_error, "short of a majority");
  EXPECT_TRUE(job.owner.empty());
  EXPECT_EQ(job.lease_expires_at_ms, 0);
}

TEST(RetryTest, RetryingStopsWhenTheRetryTimeIsUsedUpWithTheLastError) {
  JobRecord job;
  RetryPolicy policy;
  policy.retry_for_ms = 60'000;
  const int64_t start = 1'700'000'000'000;
  RecordFailure(job, absl::UnavailableError("first"), policy, start, 0.5);
  RecordFailure(job, absl::UnavailableError("second"), policy, start + 59'999, 0.5);
  EXPECT_EQ(job.state, JobState::kQueued);
  RecordFailure(job, absl::DeadlineExceededError("third"), policy, start + 60'000, 0.5);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.attempts, 3);
  EXPECT_EQ(job.finished_at_ms, start + 60'000);
  EXPECT_EQ(job.last_error, "gave up after 3 attempts over 60 s: third");
}

TEST(RetryTest, APermanentFailureFailsAtOnceWithTheReason) {
  JobRecord job;
  RecordFailure(job, absl::FailedPreconditionError("no video stream"), RetryPolicy{}, 5'000, 0.5);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(job.last_error, "no video stream");
  EXPECT_EQ(job.finished_at_ms, 5'000);
}

}  // namespace
}  // namespace dvs::jobs
