// How a job's error is handled (DESIGN §9 step 7, §11): the error is sorted
// into retryable (the world was briefly in the way: a storage quorum miss, a
// deadline, a full disk, too many open files, a write conflict) or permanent
// (the input itself is at fault: not a video, a source that is gone), and a
// retryable one is tried again after an exponential backoff with jitter, for
// a bounded time. Plain functions and values; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "jobs/job_record.h"

namespace dvs::jobs {

enum class ErrorClass {
  kRetryable,
  kPermanent,
  kCancelled,  // the work was stopped on purpose: neither
};

// By canonical code. Retryable: Unavailable (a storage quorum miss, etcd
// without a leader), DeadlineExceeded, ResourceExhausted (ENOSPC, EDQUOT: the
// space may come back), Aborted (a compare-and-set conflict), Internal and
// Unknown (I/O errors and EMFILE/ENFILE arrive as Internal from
// common::ErrnoError; an ffmpeg crash too: it is retried, bounded).
// Permanent: InvalidArgument, FailedPrecondition (ffmpeg or ffprobe rejected
// the input), NotFound (the source is gone), OutOfRange, DataLoss,
// PermissionDenied, Unauthenticated, Unimplemented, AlreadyExists.
// Cancelled: Cancelled. OK is not an error: it is a programming error to ask.
ErrorClass ClassifyError(const absl::Status& error);

// For an errno from a system call in the pipeline. Retryable: EINTR, EAGAIN,
// EMFILE, ENFILE, ENOMEM, ENOSPC, EDQUOT, EIO, EBUSY, ETIMEDOUT and the
// connection errors; permanent: the rest (ENOENT, EACCES, EINVAL…).
ErrorClass ClassifyErrno(int error);

struct RetryPolicy {
  int64_t first_delay_ms = 2'000;      // after the first failure
  int64_t max_delay_ms = 5 * 60'000;   // the doubling stops here
  int64_t retry_for_ms = 60 * 60'000;  // --retry-for: from the first failure
};

// The wait before try number `attempts` + 1, after `attempts` (>= 1) failed
// ones: first_delay_ms doubled per attempt up to max_delay_ms, then scaled by
// a jitter factor in [0.5, 1] taken from `unit_random` in [0, 1), so that
// jobs that failed together do not come back together.
int64_t BackoffDelayMs(const RetryPolicy& policy, int attempts, double unit_random);

// Records the failure of a run of `job` at `now_ms` in it: a permanent error,
// or a retryable one past policy.retry_for_ms since the first failure, makes
// it failed with the reason; a retryable one queues it again (owner cleared)
// for now_ms + the backoff. `error` is not OK and not Cancelled.
void RecordFailure(JobRecord& job, const absl::Status& error, const RetryPolicy& policy,
                   int64_t now_ms, double unit_random);

}  // namespace dvs::jobs
