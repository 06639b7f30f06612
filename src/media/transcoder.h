// Runs the packaging of one video: ffmpeg with the ladder, progress from its
// -progress output, a time limit and cancellation. Thread-safe; each call owns
// its ffmpeg process.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "media/ladder.h"
#include "media/probe.h"

namespace dvs::media {

struct TranscodeOptions {
  std::string ffmpeg = "ffmpeg";
  std::chrono::milliseconds time_limit{std::chrono::hours(2)};
  uint64_t memory_limit_bytes = 4ull << 30;
};

struct TranscodeRequest {
  std::filesystem::path source;
  ProbeResult probe;
  std::filesystem::path output_dir;                  // created if missing; holds the result
  std::function<void(double progress)> on_progress;  // 0..1, may be unset
  const std::atomic<bool>* cancel = nullptr;
};

// Writes manifest.mpd, master.m3u8 (+ media playlists), init-*.m4s,
// chunk-*.m4s and poster.jpg into output_dir. Cancelled when *cancel became
// true, DeadlineExceeded past the time limit, Internal with ffmpeg's last
// words when it fails.
[[nodiscard]] absl::Status Transcode(const TranscodeRequest& request,
                                     const TranscodeOptions& options = {});

// Packages the source as it is, without re-encoding (CanRemux(probe) must
// hold): manifest.mpd, init-q*.m4s and chunk-q*.m4s in output_dir. Takes about
// as long as copying the file. Errors as for Transcode.
[[nodiscard]] absl::Status Remux(const TranscodeRequest& request,
                                 const TranscodeOptions& options = {});

// The ladder in parts (ladder.h), for jobs whose tasks run apart: the
// names of the encoding parts of `probe`'s ladder, "video-<i>" for rendition
// i of PlanLadder(probe), then "audio" when the source has audio.
std::vector<std::string> LadderParts(const ProbeResult& probe);

// Encodes the part `part` (a name from LadderParts) of request.source into
// `output`, an MP4 file that appears whole or not at all. InvalidArgument for
// an unknown part; other errors as for Transcode. request.output_dir is not
// used.
[[nodiscard]] absl::Status EncodePart(const TranscodeRequest& request, std::string_view part,
                                      const std::filesystem::path& output,
                                      const TranscodeOptions& options = {});

// Copies the encoded parts (one file per rendition in ladder order, and
// `audio` unless empty) into request.output_dir as Transcode would have
// written it (manifests, segments, and the poster from request.source).
// Errors as for Transcode.
[[nodiscard]] absl::Status PackageParts(const TranscodeRequest& request,
                                        const std::vector<std::filesystem::path>& videos,
                                        const std::filesystem::path& audio,
                                        const TranscodeOptions& options = {});

// Parses one line of ffmpeg's -progress output; returns the progress in 0..1
// for "out_time_us=N" lines given the duration, or -1 for other lines.
double ProgressFromLine(std::string_view line, double duration_s);

}  // namespace dvs::media
