#include "jobs/retry.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace dvs::jobs {

ErrorClass ClassifyError(const absl::Status& error) {
  switch (error.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
      return ErrorClass::kRetryable;
    case absl::StatusCode::kCancelled:
      return ErrorClass::kCancelled;
    case absl::StatusCode::kOk:
      std::abort();  // not an error
    default:
      return ErrorClass::kPermanent;
  }
}

ErrorClass ClassifyErrno(int error) {
  switch (error) {
    case EINTR:
    case EAGAIN:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case EBUSY:
    case ETIMEDOUT:
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ENETUNREACH:
    case EHOSTUNREACH:
      return ErrorClass::kRetryable;
    default:
      return ErrorClass::kPermanent;
  }
}

int64_t BackoffDelayMs(const RetryPolicy& policy, int attempts, double unit_random) {
  int64_t delay = std::max<int64_t>(policy.first_delay_ms, 1);
  for (int i = 1; i < attempts && delay < policy.max_delay_ms; ++i) delay *= 2;
  delay = std::min(delay, std::max<int64_t>(policy.max_delay_ms, 1));
  double jitter = 0.5 + 0.5 * std::clamp(unit_random, 0.0, 1.0);
  return std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(delay) * jitter));
}

void RecordFailure(JobRecord& job, const absl::Status& error, const RetryPolicy& policy,
                   int64_t now_ms, double unit_random) {
  ++job.attempts;
  job.last_error = std::string(error.message());
  job.owner.clear();
  job.lease_expires_at_ms = 0;
  if (job.first_error_at_ms == 0) job.first_error_at_ms = now_ms;
  const bool retryable = ClassifyError(error) == ErrorClass::kRetryable;
  if (retryable && now_ms - job.first_error_at_ms < policy.retry_for_ms) {
    job.state = JobState::kQueued;
    job.next_try_at_ms = now_ms + BackoffDelayMs(policy, job.attempts, unit_random);
    return;
  }
  if (retryable) {
    job.last_error = absl::StrCat("gave up after ", job.attempts, " attempts over ",
                                  (now_ms - job.first_error_at_ms) / 1000, " s: ", error.message());
  }
  job.state = JobState::kFailed;
  job.finished_at_ms = now_ms;
  job.next_try_at_ms = 0;
}

}  // namespace dvs::jobs
