#include "media/probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "media/test_clips.h"

namespace dvs::media {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using testing::MakeVideo;
using ::testing::Not;
using testing::RunFfmpeg;
using testing::TempDir;

namespace fs = std::filesystem;

void WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// The probe's verdict on an unusable file: FailedPrecondition and its reason.
std::string RejectionOf(const fs::path& file) {
  auto probe = Probe(file);
  EXPECT_FALSE(probe.ok()) << file << " was accepted";
  if (probe.ok()) return "";
  EXPECT_EQ(probe.status().code(), absl::StatusCode::kFailedPrecondition) << probe.status();
  return std::string(probe.status().message());
}

class ProbeTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(ProbeTest, DescribesAnMp4WithAudio) {
  fs::path clip = MakeVideo(dir_ / "clip.mp4", 320, 180, 2, /*audio=*/true);
  auto probe = Probe(clip);
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_EQ(probe->format_name, "mov,mp4,m4a,3gp,3g2,mj2");
  EXPECT_EQ(probe->video_codec, "h264");
  EXPECT_EQ(probe->audio_codec, "aac");
  EXPECT_EQ(probe->width, 320);
  EXPECT_EQ(probe->height, 180);
  EXPECT_EQ(probe->rotation, 0);
  EXPECT_EQ(probe->sar_num, 1);
  EXPECT_EQ(probe->sar_den, 1);
  EXPECT_DOUBLE_EQ(probe->fps, 30);
  EXPECT_NEAR(probe->duration_s, 2, 0.1);
  EXPECT_GT(probe->bit_rate, 0);
}

TEST_F(ProbeTest, AcceptsAVideoWithoutAudio) {
  fs::path clip = MakeVideo(dir_ / "silent.mkv", 320, 180, 1, /*audio=*/false, /*fps=*/25);
  auto probe = Probe(clip);
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_EQ(probe->format_name, "matroska,webm");
  EXPECT_EQ(probe->audio_codec, "");
  EXPECT_DOUBLE_EQ(probe->fps, 25);
}

TEST_F(ProbeTest, ReadsTheRotationOfAPhoneVideo) {
  fs::path clip = MakeVideo(dir_ / "clip.mp4", 320, 180, 1, /*audio=*/false);
  fs::path rotated = dir_ / "rotated.mp4";
  RunFfmpeg({"-i", clip.string(), "-c", "copy", "-metadata:s:v:0", "rotate=90", rotated.string()});
  auto probe = Probe(rotated);
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_EQ(probe->width, 320);
  EXPECT_EQ(probe->height, 180);
  // ffmpeg 5.1 turns this file 90° counter-clockwise on decode, i.e. 270
  // clockwise; other versions flip the sign, so accept either quarter turn.
  EXPECT_THAT(probe->rotation, AnyOf(90, 270));
  EXPECT_EQ(probe->display_width(), 180);
  EXPECT_EQ(probe->display_height(), 320);
}

TEST_F(ProbeTest, RejectsAnEmptyFile) {
  WriteFile(dir_ / "empty.mp4", "");
  EXPECT_EQ(RejectionOf(dir_ / "empty.mp4"), "the file is empty");
}

TEST_F(ProbeTest, RejectsAMissingFile) {
  EXPECT_THAT(RejectionOf(dir_ / "missing.mp4"), HasSubstr("cannot be read"));
}

TEST_F(ProbeTest, RejectsATextFileWithoutShowingServerPaths) {
  WriteFile(dir_ / "notes.mp4", "hello, this is not a video\n");
  std::string reason = RejectionOf(dir_ / "notes.mp4");
  EXPECT_THAT(reason, HasSubstr("not a video file ffprobe can read: "));
  EXPECT_THAT(reason, AnyOf(HasSubstr("moov atom not found"), HasSubstr("Invalid data")));
  EXPECT_THAT(reason, Not(HasSubstr(dir_.path().string())));
}

TEST_F(ProbeTest, RejectsAnHlsPlaylist) {
  WriteFile(dir_ / "list.m3u8",
            "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n");
  EXPECT_THAT(RejectionOf(dir_ / "list.m3u8"),
              AnyOf(HasSubstr("not a video file ffprobe can read"), HasSubstr("playlist")));
}

TEST_F(ProbeTest, RejectsAPlaylistThatPointsAtARealVideo) {
  MakeVideo(dir_ / "clip.mp4", 320, 180, 1, /*audio=*/false);
  WriteFile(dir_ / "list.txt", "ffconcat version 1.0\nfile clip.mp4\n");
  EXPECT_THAT(RejectionOf(dir_ / "list.txt"),
              AnyOf(HasSubstr("not a video file ffprobe can read"), HasSubstr("playlist")));
}

TEST_F(ProbeTest, RejectsAPngImage) {
  RunFfmpeg(
      {"-f", "lavfi", "-i", "testsrc2=s=320x180", "-frames:v", "1", (dir_ / "a.png").string()});
  EXPECT_EQ(RejectionOf(dir_ / "a.png"), "the file is a still image, not a video");
}

TEST_F(ProbeTest, RejectsAJpegImage) {
  RunFfmpeg(
      {"-f", "lavfi", "-i", "testsrc2=s=320x180", "-frames:v", "1", (dir_ / "a.jpg").string()});
  EXPECT_EQ(RejectionOf(dir_ / "a.jpg"), "the file is a still image, not a video");
}

TEST_F(ProbeTest, RejectsAudioOnlyFiles) {
  for (const char* name : {"tone.wav", "tone.m4a"}) {
    RunFfmpeg({"-f", "lavfi", "-i", "sine=d=1", (dir_ / name).string()});
    EXPECT_EQ(RejectionOf(dir_ / name), "the file has no video stream") << name;
  }
}

TEST_F(ProbeTest, RejectsATruncatedMp4) {
  fs::path clip = MakeVideo(dir_ / "clip.mp4", 320, 180, 2, /*audio=*/true);
  std::string bytes;
  {
    std::ifstream in(clip, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  WriteFile(dir_ / "cut.mp4", bytes.substr(0, bytes.size() * 3 / 10));
  EXPECT_THAT(RejectionOf(dir_ / "cut.mp4"), HasSubstr("not a video file ffprobe can read"));
}

TEST_F(ProbeTest, RejectsATruncatedMp4WhoseIndexComesFirst) {
  fs::path clip = MakeVideo(dir_ / "whole.mp4", 320, 180, 3, /*audio=*/true);
  fs::path faststart = dir_ / "faststart.mp4";
  RunFfmpeg({"-i", clip.string(), "-c", "copy", "-movflags", "+faststart", faststart.string()});
  std::string bytes;
  {
    std::ifstream in(faststart, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  WriteFile(dir_ / "cut.mp4", bytes.substr(0, bytes.size() * 3 / 10));
  EXPECT_TRUE(Probe(faststart).ok());
  EXPECT_THAT(RejectionOf(dir_ / "cut.mp4"), HasSubstr("the file is truncated"));
}

TEST_F(ProbeTest, RejectsAbsurdDimensions) {
  fs::path wide = dir_ / "wide.nut";
  RunFfmpeg(
      {"-f", "lavfi", "-i", "testsrc2=s=8200x16:r=10:d=0.2", "-c:v", "rawvideo", wide.string()});
  EXPECT_THAT(RejectionOf(wide), HasSubstr("8200x16 is not usable"));
}

TEST_F(ProbeTest, MissingFfprobeIsAnInternalError) {
  MakeVideo(dir_ / "clip.mp4", 160, 90, 1, /*audio=*/false);
  auto probe = Probe(dir_ / "clip.mp4", {.ffprobe = "dvs-no-such-ffprobe"});
  EXPECT_EQ(probe.status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace dvs::media
