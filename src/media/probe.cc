#include "media/probe.h"

#include <cmath>
#include <cstdlib>
#include <optional>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "common/subprocess.h"
#include "nlohmann/json.hpp"

namespace dvs::media {
namespace {

using nlohmann::json;

constexpr int kMaxDimension = 8192;
constexpr double kMaxDurationSeconds = 24 * 3600;

absl::Status Unusable(absl::string_view reason) { return absl::FailedPreconditionError(reason); }

// ffprobe's first complaint, without the "[demuxer @ 0x...] " prefix and the
// (server-side) file name, so it can be shown to the uploader.
std::string FirstComplaint(const std::string& stderr_text, const std::string& file_arg) {
  std::vector<absl::string_view> lines = absl::StrSplit(stderr_text, '\n', absl::SkipEmpty());
  if (lines.empty()) return "ffprobe could not read it";
  absl::string_view line = lines.front();
  if (absl::StartsWith(line, "[")) {
    size_t close = line.find("] ");
    if (close != absl::string_view::npos) line.remove_prefix(close + 2);
  }
  absl::ConsumePrefix(&line, file_arg + ": ");
  return std::string(line);
}

// "30000/1001" → 29.97; 0 for "0/0", "N/A" and the like.
double ParseRatio(const std::string& text) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits(absl::ByAnyChar("/:"), 1));
  double num = 0, den = 1;
  if (!absl::SimpleAtod(parts[0], &num)) return 0;
  if (parts.size() == 2 && (!absl::SimpleAtod(parts[1], &den) || den == 0)) return 0;
  return std::isfinite(num / den) ? num / den : 0;
}

// ffprobe prints most numbers as JSON strings; accept either.
double NumberField(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return 0;
  if (it->is_number()) return it->get<double>();
  double value = 0;
  if (it->is_string() && absl::SimpleAtod(it->get<std::string>(), &value) && std::isfinite(value)) {
    return value;
  }
  return 0;
}

std::string StringField(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

int NormaliseRotation(double degrees) {
  int quarter_turns = static_cast<int>(std::lround(degrees / 90.0));
  return ((quarter_turns % 4) + 4) % 4 * 90;
}

// See ProbeResult::rotation for the direction.
int RotationOf(const json& stream) {
  if (auto side_data = stream.find("side_data_list"); side_data != stream.end()) {
    for (const json& entry : *side_data) {
      if (entry.contains("rotation")) return NormaliseRotation(-NumberField(entry, "rotation"));
    }
  }
  if (auto tags = stream.find("tags"); tags != stream.end()) {
    // The legacy "rotate" tag is already clockwise.
    if (tags->contains("rotate")) return NormaliseRotation(NumberField(*tags, "rotate"));
  }
  return 0;
}

bool IsAttachedPicture(const json& stream) {
  auto disposition = stream.find("disposition");
  return disposition != stream.end() && NumberField(*disposition, "attached_pic") != 0;
}

void FillVideo(const json& stream, ProbeResult& result) {
  result.video_codec = StringField(stream, "codec_name");
  result.pix_fmt = StringField(stream, "pix_fmt");
  result.width = static_cast<int>(NumberField(stream, "width"));
  result.height = static_cast<int>(NumberField(stream, "height"));
  result.rotation = RotationOf(stream);
  std::vector<std::string> sar = absl::StrSplit(StringField(stream, "sample_aspect_ratio"), ':');
  int num = 0, den = 0;
  if (sar.size() == 2 && absl::SimpleAtoi(sar[0], &num) && absl::SimpleAtoi(sar[1], &den) &&
      num > 0 && den > 0) {
    result.sar_num = num;
    result.sar_den = den;
  }
  result.fps = ParseRatio(StringField(stream, "avg_frame_rate"));
  if (result.fps <= 0 || result.fps > 1000) {
    result.fps = ParseRatio(StringField(stream, "r_frame_rate"));
  }
  result.duration_s = NumberField(stream, "duration");
}

struct Parsed {
  ProbeResult result;
  bool has_video = false;
  bool has_attached_picture = false;
};

Parsed ParseStreams(const json& root) {
  Parsed parsed;
  const json& format = root.at("format");
  parsed.result.format_name = StringField(format, "format_name");
  parsed.result.bit_rate = static_cast<int64_t>(NumberField(format, "bit_rate"));
  for (const json& stream : root.value("streams", json::array())) {
    std::string type = StringField(stream, "codec_type");
    if (type == "video" && IsAttachedPicture(stream)) {
      parsed.has_attached_picture = true;
    } else if (type == "video" && !parsed.has_video) {
      parsed.has_video = true;
      FillVideo(stream, parsed.result);
    } else if (type == "audio" && parsed.result.audio_codec.empty()) {
      parsed.result.audio_codec = StringField(stream, "codec_name");
    }
  }
  // The container's duration covers every stream; prefer it.
  if (double duration = NumberField(format, "duration"); duration > 0) {
    parsed.result.duration_s = duration;
  }
  return parsed;
}

bool IsPlaylistOrText(const std::string& format_name) {
  static const char* const kFormats[] = {
      "hls",       "applehttp", "concat",   "tty",  "ffmetadata", "srt",  "webvtt", "ass",
      "subviewer", "lrc",       "microdvd", "dash", "sdp",        "rtsp", "data"};
  for (absl::string_view entry : absl::StrSplit(format_name, ',')) {
    for (const char* bad : kFormats) {
      if (entry == bad) return true;
    }
  }
  return false;
}

bool IsImageFormat(const std::string& format_name) {
  return format_name == "image2" || format_name == "image2pipe" ||
         absl::EndsWith(format_name, "_pipe");
}

absl::Status Judge(const Parsed& parsed) {
  const ProbeResult& r = parsed.result;
  if (IsPlaylistOrText(r.format_name)) {
    return Unusable(
        absl::StrCat("the file is a playlist or text, not a video (", r.format_name, ")"));
  }
  if (IsImageFormat(r.format_name) ||
      (!parsed.has_video && parsed.has_attached_picture && r.audio_codec.empty())) {
    return Unusable("the file is a still image, not a video");
  }
  if (!parsed.has_video) return Unusable("the file has no video stream");
  if (r.width <= 0 || r.height <= 0 || r.width > kMaxDimension || r.height > kMaxDimension) {
    return Unusable(absl::StrCat("the video's size ", r.width, "x", r.height,
                                 " is not usable (at most ", kMaxDimension, " pixels a side)"));
  }
  if (!(r.duration_s > 0) || r.duration_s > kMaxDurationSeconds) {
    return Unusable(absl::StrCat("the video's duration (", r.duration_s,
                                 " s) is not usable (more than 0, at most 24 hours)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ProbeResult> ParseAndJudge(const std::string& text) {
  Parsed parsed;
  try {
    parsed = ParseStreams(json::parse(text));
  } catch (const json::exception& e) {
    return Unusable(absl::StrCat("not a video file ffprobe can read: ", e.what()));
  }
  if (absl::Status verdict = Judge(parsed); !verdict.ok()) return verdict;
  return parsed.result;
}

common::SubprocessOptions FfprobeRun(const ProbeOptions& options, std::vector<std::string> args) {
  common::SubprocessOptions run;
  run.argv = {options.ffprobe, "-v", "error", "-protocol_whitelist", "file"};
  run.argv.insert(run.argv.end(), args.begin(), args.end());
  run.time_limit = options.time_limit;
  run.memory_limit_bytes = 2ull << 30;
  return run;
}

// A file cut short (an interrupted copy) can have a complete index and so
// look whole to -show_streams. Counting the video packets actually present
// (demuxing only, no decoding) against the index's frame count finds it.
absl::Status CheckComplete(const std::string& file_arg, const ProbeOptions& options) {
  auto ran = common::RunSubprocess(
      FfprobeRun(options, {"-count_packets", "-select_streams", "v:0", "-show_entries",
                           "stream=nb_frames,nb_read_packets", "-of", "json", file_arg}));
  if (!ran.ok()) {
    return absl::InternalError(absl::StrCat("cannot run ffprobe: ", ran.status().message()));
  }
  if (ran->timed_out) return Unusable("ffprobe took too long to read the file");
  if (absl::StrContains(ran->stderr_tail, "partial file")) {
    return Unusable("the file is truncated: it ends before its last frame");
  }
  try {
    json streams = json::parse(ran->stdout_text).value("streams", json::array());
    if (streams.empty()) return absl::OkStatus();
    int64_t indexed = 0, present = 0;
    if (absl::SimpleAtoi(StringField(streams[0], "nb_frames"), &indexed) &&
        absl::SimpleAtoi(StringField(streams[0], "nb_read_packets"), &present) &&
        present < indexed) {
      return Unusable(absl::StrCat("the file is truncated: only ", present, " of its ", indexed,
                                   " video frames are present"));
    }
  } catch (const json::exception&) {
    // The first probe read this file fine; a count we cannot read proves nothing.
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ProbeResult> Probe(const std::filesystem::path& file, const ProbeOptions& options) {
  std::error_code error;
  uintmax_t size = std::filesystem::file_size(file, error);
  if (error) return Unusable(absl::StrCat("the file cannot be read: ", error.message()));
  if (size == 0) return Unusable("the file is empty");

  // "file:" keeps a name like "http:..." from being taken as a URL; the
  // whitelist stops a playlist from making ffprobe open network URLs.
  const std::string file_arg = "file:" + file.string();
  auto ran = common::RunSubprocess(
      FfprobeRun(options, {"-print_format", "json", "-show_format", "-show_streams", file_arg}));
  if (!ran.ok()) {
    return absl::InternalError(absl::StrCat("cannot run ffprobe: ", ran.status().message()));
  }
  if (ran->timed_out) return Unusable("ffprobe took too long to read the file");
  if (ran->exit_code != 0) {
    return Unusable(absl::StrCat("not a video file ffprobe can read: ",
                                 FirstComplaint(ran->stderr_tail, file_arg)));
  }
  ASSIGN_OR_RETURN(ProbeResult result, ParseAndJudge(ran->stdout_text));
  RETURN_IF_ERROR(CheckComplete(file_arg, options));
  return result;
}

}  // namespace dvs::media
