// The one way dvs runs another program (ffmpeg, ffprobe): fork + exec of an
// argv, never a shell, with a time limit, an address-space limit, cooperative
// cancellation and line-by-line standard output.
// RunSubprocess is thread-safe; each call owns its child.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace dvs::common {

struct SubprocessOptions {
  std::vector<std::string> argv;  // argv[0] is looked up on PATH
  std::chrono::milliseconds time_limit{std::chrono::minutes(10)};
  uint64_t memory_limit_bytes = 0;  // RLIMIT_AS of the child; 0 = none
  // Called for each line of standard output (without the newline). When unset,
  // standard output is collected into SubprocessResult::stdout_text instead.
  std::function<void(std::string_view line)> on_stdout_line;
  size_t max_stdout_bytes = 16 << 20;  // cap for stdout_text
  const std::atomic<bool>* cancel = nullptr;  // polled; when true the child is killed
};

struct SubprocessResult {
  int exit_code = -1;  // -1 when killed by a signal
  bool timed_out = false;
  bool cancelled = false;
  std::string stdout_text;
  std::string stderr_tail;  // the last few KiB of standard error, for messages
  bool ok() const { return exit_code == 0 && !timed_out && !cancelled; }
};

// Runs to completion (or kill). An error status only when the program could
// not be started; a program that fails is a result with its exit code.
[[nodiscard]] absl::StatusOr<SubprocessResult> RunSubprocess(const SubprocessOptions& options);

}  // namespace dvs::common
