#include "media/transcoder.h"

#include <algorithm>
#include <cstdint>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/subprocess.h"
#include "spdlog/spdlog.h"

namespace dvs::media {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// ffmpeg's progress never reports 1.0 itself: that is kept for the moment the
// whole job (segments and poster) is done.
constexpr double kMaxRunningProgress = 0.99;
constexpr size_t kMessageTailBytes = 1500;

// Keeps the reported progress monotonic and rate-free of duplicates.
class ProgressReporter {
 public:
  explicit ProgressReporter(const std::function<void(double)>& callback) : callback_(callback) {}
  void Report(double progress) {
    progress = std::clamp(progress, 0.0, 1.0);
    if (!callback_ || progress <= last_) return;
    last_ = progress;
    callback_(progress);
  }

 private:
  const std::function<void(double)>& callback_;
  double last_ = -1;
};

// The end of ffmpeg's standard error, starting at a line boundary.
std::string LastWords(const std::string& stderr_tail) {
  if (stderr_tail.size() <= kMessageTailBytes) return stderr_tail;
  std::string tail = stderr_tail.substr(stderr_tail.size() - kMessageTailBytes);
  size_t newline = tail.find('\n');
  return newline == std::string::npos ? tail : tail.substr(newline + 1);
}

absl::Status StatusOf(const absl::StatusOr<common::SubprocessResult>& run, const char* step,
                      std::chrono::milliseconds time_limit) {
  if (!run.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot run ffmpeg (", step, "): ", run.status().message()));
  }
  if (run->cancelled) return absl::CancelledError(absl::StrCat(step, " was cancelled"));
  if (run->timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat(step, " took longer than the limit of ", time_limit.count() / 1000.0, " s"));
  }
  if (run->exit_code != 0) {
    return absl::InternalError(absl::StrCat("ffmpeg failed while ", step, " (exit code ",
                                            run->exit_code, "): ", LastWords(run->stderr_tail)));
  }
  return absl::OkStatus();
}

bool IsOurOutput(const std::string& name) {
  return name == "manifest.mpd" || name == "master.m3u8" || name == "poster.jpg" ||
         (absl::StartsWith(name, "media_") && absl::EndsWith(name, ".m3u8")) ||
         (absl::StartsWith(name, "init-") && absl::EndsWith(name, ".m4s")) ||
         (absl::StartsWith(name, "chunk-") && absl::EndsWith(name, ".m4s")) ||
         absl::EndsWith(name, ".tmp");  // the muxer writes manifests via temp files
}

// Removes what a failed run left: only files we could have written, then the
// directory itself when we created it and it is now empty.
void RemovePartialOutput(const fs::path& dir, bool created_dir) {
  std::error_code error;
  std::vector<fs::path> doomed;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    if (IsOurOutput(entry.path().filename().string())) doomed.push_back(entry.path());
  }
  for (const fs::path& path : doomed) {
    if (!fs::remove(path, error) && error) {
      spdlog::warn("cannot remove partial output {}: {}", path.string(), error.message());
    }
  }
  if (created_dir && fs::is_empty(dir, error)) fs::remove(dir, error);
}

common::SubprocessOptions RunOptions(std::vector<std::string> argv, const TranscodeRequest& request,
                                     const TranscodeOptions& options,
                                     std::chrono::milliseconds time_limit) {
  common::SubprocessOptions run;
  run.argv = std::move(argv);
  run.time_limit = time_limit;
  run.memory_limit_bytes = options.memory_limit_bytes;
  run.cancel = request.cancel;
  return run;
}

// Runs `argv` (an ffmpeg run that reports on standard output) under the
// time limit, reporting progress.
absl::Status RunReporting(std::vector<std::string> argv, const char* step,
                          const TranscodeRequest& request, const TranscodeOptions& options,
                          ProgressReporter& progress) {
  common::SubprocessOptions run = RunOptions(std::move(argv), request, options, options.time_limit);
  const double duration = request.probe.duration_s;
  run.on_stdout_line = [&](std::string_view line) {
    double value = ProgressFromLine(line, duration);
    if (value >= 0) progress.Report(std::min(value, kMaxRunningProgress));
  };
  return StatusOf(common::RunSubprocess(run), step, options.time_limit);
}

// Both ffmpeg runs: the packaging (`package_argv`), then the poster, sharing
// one deadline.
absl::Status RunFfmpeg(const TranscodeRequest& request, const TranscodeOptions& options,
                       ProgressReporter& progress, std::vector<std::string> package_argv) {
  const Clock::time_point deadline = Clock::now() + options.time_limit;
  absl::Status packaged =
      RunReporting(std::move(package_argv), "packaging", request, options, progress);
  if (!packaged.ok()) return packaged;

  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  common::SubprocessOptions poster = RunOptions(
      PosterArgs(request.source, request.probe, request.output_dir / "poster.jpg", options.ffmpeg),
      request, options, std::max(remaining, std::chrono::milliseconds(1)));
  return StatusOf(common::RunSubprocess(poster), "making the poster", options.time_limit);
}

absl::Status CheckOutputs(const fs::path& dir) {
  for (const char* name : {"manifest.mpd", "master.m3u8", "poster.jpg"}) {
    std::error_code error;
    if (fs::file_size(dir / name, error) == 0 || error) {
      return absl::InternalError(absl::StrCat("ffmpeg succeeded but wrote no ", name));
    }
  }
  return absl::OkStatus();
}

}  // namespace

double ProgressFromLine(std::string_view line, double duration_s) {
  absl::string_view text(line.data(), line.size());
  // ffmpeg's out_time_ms is in microseconds too (a long-standing misnomer).
  if (!absl::ConsumePrefix(&text, "out_time_us=") && !absl::ConsumePrefix(&text, "out_time_ms=")) {
    return -1;
  }
  int64_t micros = 0;
  if (!(duration_s > 0) || !absl::SimpleAtoi(text, &micros)) return -1;
  return std::clamp(static_cast<double>(micros) / 1e6 / duration_s, 0.0, 1.0);
}

absl::Status Remux(const TranscodeRequest& request, const TranscodeOptions& options) {
  std::error_code error;
  bool created_dir = fs::create_directories(request.output_dir, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create ", request.output_dir.string(), ": ", error.message()));
  }
  PackageCommand command{request.source, request.probe, {}, request.output_dir, options.ffmpeg};
  absl::Status status = StatusOf(
      common::RunSubprocess(RunOptions(RemuxArgs(command), request, options, options.time_limit)),
      "packaging a copy", options.time_limit);
  if (status.ok() && (fs::file_size(request.output_dir / "manifest.mpd", error) == 0 || error)) {
    status = absl::InternalError("ffmpeg succeeded but wrote no manifest.mpd");
  }
  if (!status.ok()) RemovePartialOutput(request.output_dir, created_dir);
  return status;
}

// Runs `argv` (a packaging into request.output_dir) and the poster, and
// checks what they wrote; a failed run leaves nothing behind.
absl::Status PackageInto(const TranscodeRequest& request, const TranscodeOptions& options,
                         std::vector<std::string> argv) {
  std::error_code error;
  bool created_dir = fs::create_directories(request.output_dir, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create ", request.output_dir.string(), ": ", error.message()));
  }
  ProgressReporter progress(request.on_progress);
  progress.Report(0);
  absl::Status status = RunFfmpeg(request, options, progress, std::move(argv));
  if (status.ok()) status = CheckOutputs(request.output_dir);
  if (!status.ok()) {
    RemovePartialOutput(request.output_dir, created_dir);
    return status;
  }
  progress.Report(1.0);
  return absl::OkStatus();
}

absl::Status Transcode(const TranscodeRequest& request, const TranscodeOptions& options) {
  PackageCommand command{request.source, request.probe, PlanLadder(request.probe),
                         request.output_dir, options.ffmpeg};
  return PackageInto(request, options, PackageArgs(command));
}

std::vector<std::string> LadderParts(const ProbeResult& probe) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < PlanLadder(probe).size(); ++i) parts.push_back(absl::StrCat("video-", i));
  if (!probe.audio_codec.empty()) parts.push_back("audio");
  return parts;
}

absl::Status EncodePart(const TranscodeRequest& request, std::string_view part,
                        const fs::path& output, const TranscodeOptions& options) {
  PackageCommand command{
      request.source, request.probe, PlanLadder(request.probe), {}, options.ffmpeg};
  const fs::path partial = fs::path(output).concat(".partial");
  std::vector<std::string> argv;
  absl::string_view name(part.data(), part.size());
  size_t index = 0;
  if (name == "audio" && !request.probe.audio_codec.empty()) {
    argv = AudioArgs(command, partial);
  } else if (absl::ConsumePrefix(&name, "video-") && absl::SimpleAtoi(name, &index) &&
             index < command.ladder.size()) {
    argv = RenditionArgs(command, index, partial);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("no part \"", name, "\" in this ladder"));
  }
  std::error_code error;
  fs::create_directories(output.parent_path(), error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create ", output.parent_path().string(), ": ", error.message()));
  }
  ProgressReporter progress(request.on_progress);
  progress.Report(0);
  absl::Status status =
      RunReporting(std::move(argv), "encoding a part", request, options, progress);
  if (status.ok()) fs::rename(partial, output, error);
  if (status.ok() && error) {
    status = absl::InternalError(
        absl::StrCat("cannot rename ", partial.string(), ": ", error.message()));
  }
  if (!status.ok()) fs::remove(partial, error);
  return status;
}

absl::Status PackageParts(const TranscodeRequest& request, const std::vector<fs::path>& videos,
                          const fs::path& audio, const TranscodeOptions& options) {
  PackageCommand command{request.source, request.probe, PlanLadder(request.probe),
                         request.output_dir, options.ffmpeg};
  if (videos.size() != command.ladder.size() ||
      audio.empty() != request.probe.audio_codec.empty()) {
    return absl::InvalidArgumentError("the parts do not match the ladder of the source");
  }
  return PackageInto(request, options, PackagePartsArgs(command, videos, audio));
}

}  // namespace dvs::media
