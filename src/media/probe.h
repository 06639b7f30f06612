// What ffprobe says about an uploaded file, and the judgement whether dvs can
// take it. Probe is thread-safe.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "absl/status/statusor.h"

namespace dvs::media {

struct ProbeResult {
  std::string format_name;  // ffprobe's format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  std::string video_codec;  // e.g. "h264", "vp9"
  std::string pix_fmt;      // e.g. "yuv420p"
  std::string audio_codec;  // empty when there is no audio stream
  int width = 0;            // as stored, before rotation
  int height = 0;
  // Degrees the stored picture is turned clockwise for display, as ffmpeg's
  // autorotate applies it (ffprobe's counter-clockwise display-matrix angle,
  // negated), normalised to 0/90/180/270.
  int rotation = 0;
  // Sample (pixel) aspect ratio, 1:1 for square pixels.
  int sar_num = 1;
  int sar_den = 1;
  double fps = 0;
  double duration_s = 0;
  int64_t bit_rate = 0;

  // Size as shown to a viewer (width and height swapped for 90/270).
  int display_width() const { return rotation % 180 == 0 ? width : height; }
  int display_height() const { return rotation % 180 == 0 ? height : width; }
};

struct ProbeOptions {
  std::string ffprobe = "ffprobe";
  std::chrono::milliseconds time_limit{std::chrono::seconds(30)};
};

// FailedPrecondition with a reason a person understands when the file is not a
// video dvs can use (no video stream, unreadable, a playlist, an image, zero
// length, absurd dimensions or duration); Internal when ffprobe cannot run.
[[nodiscard]] absl::StatusOr<ProbeResult> Probe(const std::filesystem::path& file,
                                                const ProbeOptions& options = {});

}  // namespace dvs::media
