#include "access/rate_limiter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace dvs::access {
namespace {

// Longer names are never valid: cutting them keeps a flood of huge ones
// from taking memory.
constexpr size_t kMaxKeyLength = 128;

std::string UserKey(std::string_view user) {
  return absl::StrCat("u:", common::AsAbsl(user.substr(0, kMaxKeyLength)));
}
std::string AddressKey(std::string_view address) {
  return absl::StrCat("a:", common::AsAbsl(address.substr(0, kMaxKeyLength)));
}

}  // namespace

LoginLimiter::LoginLimiter(LoginLimiterOptions options, std::function<int64_t()> now_ms)
    : options_(options), now_ms_(std::move(now_ms)) {}

std::deque<int64_t>& LoginLimiter::Failures(const std::string& key, int64_t now) {
  std::deque<int64_t>& times = failures_[key];
  while (!times.empty() && times.front() <= now - options_.window_ms) times.pop_front();
  return times;
}

std::optional<int64_t> LoginLimiter::RetryAfterS(std::string_view user, std::string_view address) {
  const int64_t now = now_ms_();
  std::lock_guard lock(mutex_);
  int64_t wait_ms = 0;
  for (const std::string& key : {UserKey(user), AddressKey(address)}) {
    auto found = failures_.find(key);
    if (found == failures_.end()) continue;
    std::deque<int64_t>& times = Failures(key, now);
    if (static_cast<int>(times.size()) >= options_.max_failures) {
      // Free again when enough of the oldest failures have left the window.
      int64_t frees_at = times[times.size() - options_.max_failures] + options_.window_ms;
      wait_ms = std::max(wait_ms, frees_at - now);
    }
  }
  if (wait_ms <= 0) return std::nullopt;
  return std::max<int64_t>(1, (wait_ms + 999) / 1000);
}

void LoginLimiter::RecordFailure(std::string_view user, std::string_view address) {
  const int64_t now = now_ms_();
  std::lock_guard lock(mutex_);
  if (failures_.size() + 2 > options_.max_keys) {
    // Drop the entries whose failures have all left the window first.
    std::erase_if(failures_, [&](const auto& entry) {
      return entry.second.empty() || entry.second.back() <= now - options_.window_ms;
    });
    if (failures_.size() + 2 > options_.max_keys) failures_.clear();
  }
  for (const std::string& key : {UserKey(user), AddressKey(address)}) {
    std::deque<int64_t>& times = Failures(key, now);
    times.push_back(now);
    // More than max_failures need not be remembered.
    while (static_cast<int>(times.size()) > options_.max_failures) times.pop_front();
  }
}

}  // namespace dvs::access
