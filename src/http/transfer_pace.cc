#include "http/transfer_pace.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace dvs::http {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string Seconds(milliseconds duration) {
  return absl::StrFormat("%.1f s", static_cast<double>(duration.count()) / 1000);
}

}  // namespace

TransferPace::TransferPace(const PaceLimits& limits, Clock::time_point start)
    : limits_(limits), start_(start), window_start_(start) {
  limits_.window = std::max(limits_.window, milliseconds(1));
}

absl::Status TransferPace::Update(uint64_t bytes, Clock::time_point now) {
  window_bytes_ += bytes;
  if (limits_.deadline.count() > 0 && now - start_ > limits_.deadline) {
    return absl::DeadlineExceededError(absl::StrCat("the upload took longer than its limit of ",
                                                    Seconds(limits_.deadline), "; it was dropped"));
  }
  if (limits_.min_bytes_per_s == 0) return absl::OkStatus();
  const milliseconds elapsed = duration_cast<milliseconds>(now - window_start_);
  if (elapsed < limits_.window) return absl::OkStatus();
  // The window has closed: judge its average, then start the next one.
  const uint64_t wanted = limits_.min_bytes_per_s * static_cast<uint64_t>(elapsed.count()) / 1000;
  if (window_bytes_ < wanted) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the upload was too slow: ", window_bytes_, " bytes in ", Seconds(elapsed),
        ", under the minimum of ", limits_.min_bytes_per_s, " bytes/s; it was dropped"));
  }
  window_start_ = now;
  window_bytes_ = 0;
  return absl::OkStatus();
}

}  // namespace dvs::http
