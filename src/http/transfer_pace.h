// Whether a request body (an upload) keeps a minimum rate and a total
// deadline, so that a client that trickles cannot hold an upload slot, a
// spool file and a connection for ever. Bytes are counted in consecutive
// windows of a set length: a window that closes with fewer than
// min_bytes_per_s × its length fails the transfer, as does any moment past
// the deadline. The rules are checked as bytes arrive, so a client that sends
// nothing at all is the read timeout's to drop. Time is passed in, so the
// rules are pure and testable.
// Not thread-safe (one per request, used by its session only).
#pragma once

#include <chrono>
#include <cstdint>

#include "absl/status/status.h"

namespace dvs::http {

struct PaceLimits {
  uint64_t min_bytes_per_s = 0;                                // 0: no minimum rate
  std::chrono::milliseconds window{std::chrono::seconds(60)};  // the rate is averaged over it
  std::chrono::milliseconds deadline{0};                       // for the whole body; 0: none
};

class TransferPace {
 public:
  using Clock = std::chrono::steady_clock;

  TransferPace(const PaceLimits& limits, Clock::time_point start);

  // Counts `bytes` that arrived by `now`; DeadlineExceeded, with the reason
  // a client can read, when the transfer is too slow or past its deadline.
  [[nodiscard]] absl::Status Update(uint64_t bytes, Clock::time_point now);

 private:
  PaceLimits limits_;
  Clock::time_point start_;
  Clock::time_point window_start_;
  uint64_t window_bytes_ = 0;
};

}  // namespace dvs::http
