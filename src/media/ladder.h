// The rendition ladder: which renditions to make from a source, and the
// ffmpeg command line that packages them as DASH + HLS over shared fMP4
// segments. Pure functions; thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "media/probe.h"

namespace dvs::media {

inline constexpr int kSegmentSeconds = 4;

struct RenditionPlan {
  int width = 0;   // even
  int height = 0;  // even
  int video_kbps = 0;
  bool operator==(const RenditionPlan&) const = default;
};

// The source height and each of 1080/720/480/360/240 below it, never upscaled,
// widths keeping the display aspect ratio, both dimensions even.
std::vector<RenditionPlan> PlanLadder(const ProbeResult& probe);

struct PackageCommand {
  std::filesystem::path source;
  ProbeResult probe;
  std::vector<RenditionPlan> ladder;
  std::filesystem::path output_dir;  // gets manifest.mpd, master.m3u8, init-*.m4s, chunk-*.m4s
  std::string ffmpeg = "ffmpeg";
};

// True when the source can be packaged as it is, without re-encoding, and
// still play in browsers: H.264 in 8-bit 4:2:0, AAC or no audio, upright
// (players ignore a rotation matrix), at most 60 fps.
bool CanRemux(const ProbeResult& probe);

// argv for ffmpeg copying the source's streams into DASH (manifest.mpd,
// init-q*.m4s, chunk-q*.m4s; no HLS): playable in about a second. The "q"
// names never collide with the ladder's, so a player that loaded this
// manifest keeps finding its segments after the ladder replaces it.
std::vector<std::string> RemuxArgs(const PackageCommand& command);

// argv for one ffmpeg run that encodes every rendition (H.264 + AAC, keyframes
// every kSegmentSeconds) and writes the DASH manifest, HLS playlists and
// segments, reporting progress on standard output (-progress pipe:1).
std::vector<std::string> PackageArgs(const PackageCommand& command);

// The ladder in parts that can run apart (on several processes, DESIGN §9):
// each rendition encoded on its own, the audio on its own, then one
// packaging run that copies them into DASH + HLS. Every rendition gets its
// keyframes at the same times (forced every kSegmentSeconds of the source's
// clock, no scene-cut keyframes), so the packaging cuts every rendition's
// segments at the same instants, as one run over the whole ladder would.
//
// argv for ffmpeg encoding rendition `index` of command.ladder (video only,
// H.264) into `output`, an MP4 file, reporting progress on standard output.
std::vector<std::string> RenditionArgs(const PackageCommand& command, size_t index,
                                       const std::filesystem::path& output);
// argv for ffmpeg encoding the source's first audio stream (AAC, stereo) into
// `output`, an MP4 file (only for a source with audio).
std::vector<std::string> AudioArgs(const PackageCommand& command,
                                   const std::filesystem::path& output);
// argv for ffmpeg copying the encoded parts (one file per rendition of
// command.ladder, in order, and `audio` unless empty) into the same DASH
// manifest, HLS playlists and segments as PackageArgs writes.
std::vector<std::string> PackagePartsArgs(const PackageCommand& command,
                                          const std::vector<std::filesystem::path>& videos,
                                          const std::filesystem::path& audio);

// argv for ffmpeg writing `poster` (JPEG) from a frame near the start.
std::vector<std::string> PosterArgs(const std::filesystem::path& source, const ProbeResult& probe,
                                    const std::filesystem::path& poster,
                                    const std::string& ffmpeg = "ffmpeg");

}  // namespace dvs::media
