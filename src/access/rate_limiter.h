// LoginLimiter: slows down password guessing. Failed logins are counted per
// user name and per client address over a sliding window; once either has
// max_failures in the window, further attempts are refused until the oldest
// failure leaves it (the caller answers 429 with Retry-After). A success
// does not erase failures: a guesser who knows one password cannot reset the
// count of another name.
//
// In memory, per server (a cluster of M servers allows M times as many
// guesses). Bounded: past max_keys, the oldest entries are dropped.
// Thread-safe: mutex_ guards the counts.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace dvs::access {

struct LoginLimiterOptions {
  int max_failures = 5;
  int64_t window_ms = 60'000;
  size_t max_keys = 100'000;
};

class LoginLimiter {
 public:
  LoginLimiter(LoginLimiterOptions options, std::function<int64_t()> now_ms);

  // Seconds to wait (at least 1) when an attempt for this user or from this
  // address is refused now; nullopt when it may go ahead.
  std::optional<int64_t> RetryAfterS(std::string_view user, std::string_view address);
  void RecordFailure(std::string_view user, std::string_view address);

 private:
  // The failures still in the window for `key`, oldest first; drops the rest.
  std::deque<int64_t>& Failures(const std::string& key, int64_t now);

  const LoginLimiterOptions options_;
  const std::function<int64_t()> now_ms_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::deque<int64_t>> failures_;  // GUARDED_BY(mutex_)
};

}  // namespace dvs::access
