#include "media/ladder.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace dvs::media {
namespace {

constexpr std::array<int, 5> kStandardHeights = {1080, 720, 480, 360, 240};
// A standard rung this close to the source height would duplicate the source
// rung (e.g. 1088 vs 1080), so it is skipped.
constexpr double kNearDuplicate = 0.9;
constexpr double kMaxFps = 60;
constexpr int kPosterMaxWidth = 640;

// Display aspect ratio as a reduced fraction, so every rendition can carry
// exactly the same one (the DASH muxer rejects an adaptation set whose
// renditions differ even by rounding).
struct Ratio {
  int64_t num = 1;
  int64_t den = 1;
  double value() const { return static_cast<double>(num) / static_cast<double>(den); }
};

Ratio Reduced(int64_t num, int64_t den) {
  if (num <= 0 || den <= 0) return {1, 1};
  int64_t g = std::gcd(num, den);
  return {num / g, den / g};
}

Ratio DisplayAspect(const ProbeResult& probe) {
  int64_t w = static_cast<int64_t>(probe.width) * std::max(probe.sar_num, 1);
  int64_t h = static_cast<int64_t>(probe.height) * std::max(probe.sar_den, 1);
  return probe.rotation % 180 == 0 ? Reduced(w, h) : Reduced(h, w);
}

int EvenAtLeastTwo(double value) {
  return std::max(2, static_cast<int>(std::lround(value / 2)) * 2);
}

// Bitrate by pixel count, piecewise linear between the usual 16:9 rungs, so
// odd and portrait sizes get a fair share.
int KbpsFor(int width, int height) {
  static constexpr std::array<std::pair<double, double>, 5> kAreaKbps = {{
      {426.0 * 240, 400},
      {640.0 * 360, 800},
      {854.0 * 480, 1400},
      {1280.0 * 720, 2800},
      {1920.0 * 1080, 5000},
  }};
  double area = static_cast<double>(width) * height;
  double kbps;
  if (area <= kAreaKbps.front().first) {
    kbps = kAreaKbps.front().second * area / kAreaKbps.front().first;
  } else if (area >= kAreaKbps.back().first) {
    kbps = kAreaKbps.back().second * area / kAreaKbps.back().first;
  } else {
    size_t i = 1;
    while (kAreaKbps[i].first < area) ++i;
    auto [a0, k0] = kAreaKbps[i - 1];
    auto [a1, k1] = kAreaKbps[i];
    kbps = k0 + (k1 - k0) * (area - a0) / (a1 - a0);
  }
  return std::clamp(static_cast<int>(std::lround(kbps)), 100, 20000);
}

RenditionPlan PlanFor(int height, Ratio aspect) {
  RenditionPlan plan;
  plan.height = height;
  plan.width = EvenAtLeastTwo(height * aspect.value());
  plan.video_kbps = KbpsFor(plan.width, plan.height);
  return plan;
}

// The demuxer ffmpeg must use: ffprobe's first name for the format, so ffmpeg
// never guesses (a crafted file cannot turn into a playlist).
std::string Demuxer(const ProbeResult& probe) {
  std::vector<std::string> names = absl::StrSplit(probe.format_name, ',');
  return names.empty() ? "" : names.front();
}

// The filter graph: one decode, an optional frame-rate cap, then a scaled
// branch [vN] per rendition, all with the source's exact display aspect.
std::string FilterGraph(const ProbeResult& probe, const std::vector<RenditionPlan>& ladder) {
  Ratio aspect = DisplayAspect(probe);
  std::string graph = "[0:v:0]";
  if (probe.fps > kMaxFps) absl::StrAppend(&graph, "fps=", kMaxFps, ",");
  absl::StrAppend(&graph, "split=", ladder.size());
  for (size_t i = 0; i < ladder.size(); ++i) absl::StrAppend(&graph, "[s", i, "]");
  for (size_t i = 0; i < ladder.size(); ++i) {
    const RenditionPlan& plan = ladder[i];
    // Pixels are square up to the rounding of the width to an even number.
    Ratio sar = Reduced(aspect.num * plan.height, aspect.den * plan.width);
    absl::StrAppend(&graph, ";[s", i, "]scale=", plan.width, ":", plan.height,
                    ",setsar=r=", sar.num, "/", sar.den, ":max=", std::max(sar.num, sar.den), "[v",
                    i, "]");
  }
  return graph;
}

int GopFrames(const ProbeResult& probe) {
  double fps = probe.fps > 0 ? std::min(probe.fps, kMaxFps) : 30;
  return std::max(1, static_cast<int>(std::ceil(fps * kSegmentSeconds)));
}

void AppendVideoOutputs(const PackageCommand& command, std::vector<std::string>& args) {
  for (size_t i = 0; i < command.ladder.size(); ++i) {
    const int kbps = command.ladder[i].video_kbps;
    const std::string n = absl::StrCat(i);
    args.insert(args.end(),
                {"-map", absl::StrCat("[v", n, "]"), "-c:v:" + n, "libx264", "-b:v:" + n,
                 absl::StrCat(kbps, "k"), "-maxrate:v:" + n, absl::StrCat(kbps * 5 / 4, "k"),
                 "-bufsize:v:" + n, absl::StrCat(kbps * 2, "k")});
  }
  const std::string gop = absl::StrCat(GopFrames(command.probe));
  args.insert(args.end(),
              {"-preset:v", "veryfast", "-profile:v", "main", "-pix_fmt:v", "yuv420p", "-g:v", gop,
               "-keyint_min:v", gop, "-sc_threshold:v", "0", "-force_key_frames:v",
               absl::StrCat("expr:gte(t,n_forced*", kSegmentSeconds, ")")});
}

std::vector<std::string> InputArgs(const PackageCommand& command) {
  return {command.ffmpeg,
          "-hide_banner",
          "-nostdin",
          "-y",
          "-v",
          "warning",
          "-protocol_whitelist",
          "file,pipe",
          "-f",
          Demuxer(command.probe),
          "-i",
          "file:" + command.source.string()};
}

// The DASH muxer's output. A SegmentTimeline lists each segment's real
// duration: with 29.97 fps sources keyframes land a frame after each 4 s
// mark (and a copied source has its own keyframes), which a fixed @duration
// template would let drift.
void AppendDashOutput(const PackageCommand& command, std::string_view name_prefix, bool hls,
                      std::vector<std::string>& args) {
  const bool has_audio = !command.probe.audio_codec.empty();
  std::string prefix(name_prefix);
  args.insert(args.end(), {"-f",
                           "dash",
                           "-seg_duration",
                           absl::StrCat(kSegmentSeconds),
                           "-use_template",
                           "1",
                           "-use_timeline",
                           "1",
                           "-init_seg_name",
                           "init-" + prefix + "$RepresentationID$.m4s",
                           "-media_seg_name",
                           "chunk-" + prefix + "$RepresentationID$-$Number%05d$.m4s",
                           "-adaptation_sets",
                           has_audio ? "id=0,streams=v id=1,streams=a" : "id=0,streams=v",
                           "-hls_playlist",
                           hls ? "1" : "0",
                           "-progress",
                           "pipe:1",
                           "-nostats",
                           (command.output_dir / "manifest.mpd").string()});
}

}  // namespace

bool CanRemux(const ProbeResult& probe) {
  bool audio_ok = probe.audio_codec.empty() || probe.audio_codec == "aac";
  return probe.video_codec == "h264" &&
         (probe.pix_fmt == "yuv420p" || probe.pix_fmt == "yuvj420p") && audio_ok &&
         probe.rotation == 0 && probe.fps <= kMaxFps;
}

std::vector<std::string> RemuxArgs(const PackageCommand& command) {
  std::vector<std::string> args = InputArgs(command);
  args.insert(args.end(), {"-map", "0:v:0", "-c:v", "copy"});
  if (!command.probe.audio_codec.empty()) {
    args.insert(args.end(), {"-map", "0:a:0", "-c:a", "copy"});
  }
  AppendDashOutput(command, "q", /*hls=*/false, args);
  return args;
}

std::vector<RenditionPlan> PlanLadder(const ProbeResult& probe) {
  Ratio aspect = DisplayAspect(probe);
  const int source_height = std::max(2, probe.display_height() / 2 * 2);  // even, never above
  std::vector<RenditionPlan> ladder = {PlanFor(source_height, aspect)};
  for (int height : kStandardHeights) {
    if (height < source_height * kNearDuplicate) ladder.push_back(PlanFor(height, aspect));
  }
  return ladder;
}

std::vector<std::string> PackageArgs(const PackageCommand& command) {
  std::vector<std::string> args = InputArgs(command);
  args.insert(args.end(), {"-filter_complex", FilterGraph(command.probe, command.ladder)});
  AppendVideoOutputs(command, args);
  if (!command.probe.audio_codec.empty()) {
    args.insert(args.end(), {"-map", "0:a:0", "-c:a", "aac", "-b:a", "128k", "-ac", "2"});
  }
  AppendDashOutput(command, "", /*hls=*/true, args);
  return args;
}

std::vector<std::string> RenditionArgs(const PackageCommand& command, size_t index,
                                       const std::filesystem::path& output) {
  PackageCommand one = command;
  one.ladder = {command.ladder.at(index)};
  std::vector<std::string> args = InputArgs(one);
  args.insert(args.end(), {"-filter_complex", FilterGraph(one.probe, one.ladder)});
  AppendVideoOutputs(one, args);
  args.insert(args.end(), {"-an", "-progress", "pipe:1", "-nostats", "-f", "mp4", output.string()});
  return args;
}

std::vector<std::string> AudioArgs(const PackageCommand& command,
                                   const std::filesystem::path& output) {
  std::vector<std::string> args = InputArgs(command);
  args.insert(args.end(), {"-map", "0:a:0", "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-vn",
                           "-progress", "pipe:1", "-nostats", "-f", "mp4", output.string()});
  return args;
}

std::vector<std::string> PackagePartsArgs(const PackageCommand& command,
                                          const std::vector<std::filesystem::path>& videos,
                                          const std::filesystem::path& audio) {
  std::vector<std::string> args = {command.ffmpeg, "-hide_banner",        "-nostdin", "-y", "-v",
                                   "warning",      "-protocol_whitelist", "file,pipe"};
  std::vector<std::filesystem::path> inputs = videos;
  if (!audio.empty()) inputs.push_back(audio);
  for (const std::filesystem::path& input : inputs) {
    args.insert(args.end(), {"-f", "mov", "-i", "file:" + input.string()});
  }
  for (size_t i = 0; i < videos.size(); ++i) {
    args.insert(args.end(), {"-map", absl::StrCat(i, ":v:0")});
  }
  if (!audio.empty()) args.insert(args.end(), {"-map", absl::StrCat(videos.size(), ":a:0")});
  args.insert(args.end(), {"-c", "copy"});
  // The parts' containers carry each rendition's own rounded aspect; the DASH
  // muxer refuses an adaptation set whose renditions differ, so every video
  // stream is given the source's display aspect, exactly.
  const Ratio aspect = DisplayAspect(command.probe);
  for (size_t i = 0; i < videos.size(); ++i) {
    args.insert(args.end(),
                {absl::StrCat("-aspect:v:", i), absl::StrCat(aspect.num, ":", aspect.den)});
  }
  AppendDashOutput(command, "", /*hls=*/true, args);
  return args;
}

std::vector<std::string> PosterArgs(const std::filesystem::path& source, const ProbeResult& probe,
                                    const std::filesystem::path& poster,
                                    const std::string& ffmpeg) {
  Ratio aspect = DisplayAspect(probe);
  const int width =
      std::min(kPosterMaxWidth, EvenAtLeastTwo(probe.display_height() * aspect.value()));
  const int height = EvenAtLeastTwo(width / aspect.value());
  const double seek = std::max(0.0, std::min(1.0, probe.duration_s / 2));
  return {ffmpeg,
          "-hide_banner",
          "-nostdin",
          "-y",
          "-v",
          "error",
          "-protocol_whitelist",
          "file,pipe",
          "-f",
          Demuxer(probe),
          "-ss",
          absl::StrCat(seek),
          "-i",
          "file:" + source.string(),
          "-map",
          "0:v:0",
          "-frames:v",
          "1",
          "-vf",
          absl::StrCat("scale=", width, ":", height, ",setsar=1"),
          "-q:v",
          "4",
          "-c:v",
          "mjpeg",
          "-f",
          "image2",
          "-update",
          "1",
          poster.string()};
}

}  // namespace dvs::media
