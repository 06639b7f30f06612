#include "media/ladder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

namespace dvs::media {

void PrintTo(const RenditionPlan& plan, std::ostream* os) {
  *os << plan.width << "x" << plan.height << "@" << plan.video_kbps << "k";
}

namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

ProbeResult Source(int width, int height, int rotation = 0) {
  ProbeResult probe;
  probe.format_name = "mov,mp4,m4a,3gp,3g2,mj2";
  probe.video_codec = "h264";
  probe.audio_codec = "aac";
  probe.width = width;
  probe.height = height;
  probe.rotation = rotation;
  probe.fps = 30;
  probe.duration_s = 10;
  return probe;
}

std::vector<int> Heights(const std::vector<RenditionPlan>& ladder) {
  std::vector<int> heights;
  for (const RenditionPlan& plan : ladder) heights.push_back(plan.height);
  return heights;
}

// The value following `flag` in args, or "" when the flag is absent.
std::string ValueOf(const std::vector<std::string>& args, const std::string& flag) {
  auto it = std::find(args.begin(), args.end(), flag);
  return it == args.end() || it + 1 == args.end() ? "" : *(it + 1);
}

TEST(LadderTest, A720pSourceGetsItselfAndEveryStandardHeightBelow) {
  std::vector<RenditionPlan> ladder = PlanLadder(Source(1280, 720));
  EXPECT_THAT(Heights(ladder), ElementsAre(720, 480, 360, 240));
  EXPECT_EQ(ladder[0], (RenditionPlan{1280, 720, 2800}));
  EXPECT_EQ(ladder[1].width, 854);
  EXPECT_EQ(ladder[3].width, 426);
}

TEST(LadderTest, A1080pSourceGetsFiveRenditionsWithFallingBitrates) {
  std::vector<RenditionPlan> ladder = PlanLadder(Source(1920, 1080));
  EXPECT_THAT(Heights(ladder), ElementsAre(1080, 720, 480, 360, 240));
  EXPECT_EQ(ladder[0].video_kbps, 5000);
  for (size_t i = 1; i < ladder.size(); ++i) {
    EXPECT_LT(ladder[i].video_kbps, ladder[i - 1].video_kbps);
  }
}

TEST(LadderTest, NeverUpscales) {
  for (const ProbeResult& probe : {Source(640, 360), Source(3840, 2160), Source(1000, 500)}) {
    for (const RenditionPlan& plan : PlanLadder(probe)) {
      EXPECT_LE(plan.height, probe.display_height());
      EXPECT_LE(plan.width, probe.display_width() + 1);
    }
  }
  EXPECT_THAT(Heights(PlanLadder(Source(3840, 2160))), ElementsAre(2160, 1080, 720, 480, 360, 240));
}

TEST(LadderTest, OddSourceSizesGiveEvenDimensions) {
  std::vector<RenditionPlan> ladder = PlanLadder(Source(1279, 719));
  EXPECT_THAT(Heights(ladder), ElementsAre(718, 480, 360, 240));
  for (const RenditionPlan& plan : PlanLadder(Source(1278, 718))) {
    EXPECT_EQ(plan.width % 2, 0) << plan.width;
    EXPECT_EQ(plan.height % 2, 0) << plan.height;
  }
  RenditionPlan top = PlanLadder(Source(1278, 718))[0];
  EXPECT_EQ(top.width, 1278);
  EXPECT_EQ(top.height, 718);
}

TEST(LadderTest, ASourceBelow240GetsOnlyItself) {
  std::vector<RenditionPlan> ladder = PlanLadder(Source(356, 200));
  ASSERT_EQ(ladder.size(), 1u);
  EXPECT_EQ(ladder[0].width, 356);
  EXPECT_EQ(ladder[0].height, 200);
  EXPECT_GT(ladder[0].video_kbps, 0);
}

TEST(LadderTest, AStandardHeightJustBelowTheSourceIsSkipped) {
  EXPECT_THAT(Heights(PlanLadder(Source(1920, 1088))), ElementsAre(1088, 720, 480, 360, 240));
}

TEST(LadderTest, RotatedSourceGetsPortraitRenditions) {
  std::vector<RenditionPlan> ladder = PlanLadder(Source(1920, 1080, 90));
  EXPECT_THAT(Heights(ladder), ElementsAre(1920, 1080, 720, 480, 360, 240));
  EXPECT_EQ(ladder[0].width, 1080);
  EXPECT_EQ(ladder[1].width, 608);
  for (const RenditionPlan& plan : ladder) EXPECT_LT(plan.width, plan.height);
  EXPECT_EQ(PlanLadder(Source(1920, 1080, 270)), ladder);
  EXPECT_THAT(Heights(PlanLadder(Source(1920, 1080, 180))), ElementsAre(1080, 720, 480, 360, 240));
}

TEST(LadderTest, AnamorphicSourceIsWidenedToSquarePixels) {
  ProbeResult dvd = Source(720, 480);
  dvd.sar_num = 32;
  dvd.sar_den = 27;  // 16:9 DVD
  std::vector<RenditionPlan> ladder = PlanLadder(dvd);
  EXPECT_EQ(ladder[0].width, 854);
  EXPECT_EQ(ladder[0].height, 480);
}

TEST(LadderTest, PackageArgsRestrictProtocolsAndNameTheDemuxer) {
  PackageCommand command{"/tmp/in.mp4", Source(1280, 720), {}, "/tmp/out"};
  command.ladder = PlanLadder(command.probe);
  std::vector<std::string> args = PackageArgs(command);
  EXPECT_EQ(args[0], "ffmpeg");
  EXPECT_EQ(ValueOf(args, "-protocol_whitelist"), "file,pipe");
  EXPECT_EQ(ValueOf(args, "-f"), "mov");
  EXPECT_EQ(ValueOf(args, "-i"), "file:/tmp/in.mp4");
  EXPECT_EQ(args.back(), "/tmp/out/manifest.mpd");
  EXPECT_EQ(ValueOf(args, "-adaptation_sets"), "id=0,streams=v id=1,streams=a");
  EXPECT_EQ(ValueOf(args, "-hls_playlist"), "1");
  EXPECT_EQ(ValueOf(args, "-seg_duration"), "4");
  EXPECT_EQ(ValueOf(args, "-progress"), "pipe:1");
  EXPECT_EQ(ValueOf(args, "-b:v:1"), "1400k");
  EXPECT_EQ(ValueOf(args, "-g:v"), "120");
  EXPECT_THAT(args, Contains("0:a:0"));
  for (const std::string& arg : args) {
    EXPECT_THAT(arg, Not(HasSubstr("sh -c")));
    EXPECT_THAT(arg, Not(HasSubstr("&&")));
  }
}

TEST(LadderTest, PackageArgsSplitOneDecodeIntoEveryRenditionWithOneAspect) {
  PackageCommand command{"in.mkv", Source(1280, 720), {}, "out"};
  command.probe.format_name = "matroska,webm";
  command.ladder = PlanLadder(command.probe);
  std::vector<std::string> args = PackageArgs(command);
  EXPECT_EQ(ValueOf(args, "-f"), "matroska");
  std::string graph = ValueOf(args, "-filter_complex");
  EXPECT_THAT(graph, HasSubstr("[0:v:0]split=4[s0][s1][s2][s3]"));
  EXPECT_THAT(graph, HasSubstr("[s0]scale=1280:720,setsar=r=1/1:max=1[v0]"));
  // 426x240 is not exactly 16:9; the pixel aspect makes up the difference.
  EXPECT_THAT(graph, HasSubstr("[s3]scale=426:240,setsar=r=640/639:max=640[v3]"));
  EXPECT_THAT(graph, Not(HasSubstr("fps=")));
  EXPECT_EQ(std::count(args.begin(), args.end(), "-map"), 5);
}

// Parts encoded apart carry each rendition's rounded aspect in their
// containers; the packaging run gives every video stream the source's exact
// display aspect, or the DASH muxer refuses an odd-sized source.
TEST(LadderTest, PackagingPartsGivesEveryVideoStreamTheSourcesAspect) {
  PackageCommand command{"in.mp4", Source(1278, 718), {}, "out"};
  std::vector<std::string> args =
      PackagePartsArgs(command, {"v0.mp4", "v1.mp4", "v2.mp4"}, "audio.mp4");
  for (const char* stream : {"-aspect:v:0", "-aspect:v:1", "-aspect:v:2"}) {
    auto at = std::find(args.begin(), args.end(), stream);
    ASSERT_NE(at, args.end()) << stream;
    ASSERT_NE(at + 1, args.end());
    EXPECT_EQ(*(at + 1), "639:359") << stream;
  }
  EXPECT_THAT(args, Not(Contains("-aspect:v:3")));
}

TEST(LadderTest, PackageArgsWithoutAudioHaveNoAudioSet) {
  PackageCommand command{"in.mp4", Source(640, 360), {}, "out"};
  command.probe.audio_codec.clear();
  command.ladder = PlanLadder(command.probe);
  std::vector<std::string> args = PackageArgs(command);
  EXPECT_EQ(ValueOf(args, "-adaptation_sets"), "id=0,streams=v");
  EXPECT_THAT(args, Not(Contains("0:a:0")));
  EXPECT_THAT(args, Not(Contains("-c:a")));
}

TEST(LadderTest, HighFrameRatesAreCappedAt60) {
  PackageCommand command{"in.mp4", Source(640, 360), {}, "out"};
  command.probe.fps = 120;
  command.ladder = PlanLadder(command.probe);
  std::vector<std::string> args = PackageArgs(command);
  EXPECT_THAT(ValueOf(args, "-filter_complex"), HasSubstr("[0:v:0]fps=60,split="));
  EXPECT_EQ(ValueOf(args, "-g:v"), "240");
}

TEST(LadderTest, PosterIsOneSmallFrameNearTheStart) {
  std::vector<std::string> args = PosterArgs("in.mp4", Source(1920, 1080), "out/poster.jpg");
  EXPECT_EQ(ValueOf(args, "-frames:v"), "1");
  EXPECT_EQ(ValueOf(args, "-ss"), "1");
  EXPECT_EQ(ValueOf(args, "-vf"), "scale=640:360,setsar=1");
  EXPECT_EQ(ValueOf(args, "-protocol_whitelist"), "file,pipe");
  EXPECT_EQ(args.back(), "out/poster.jpg");

  ProbeResult short_clip = Source(320, 180);
  short_clip.duration_s = 0.5;
  std::vector<std::string> short_args = PosterArgs("in.mp4", short_clip, "p.jpg");
  EXPECT_EQ(ValueOf(short_args, "-ss"), "0.25");
  EXPECT_EQ(ValueOf(short_args, "-vf"), "scale=320:180,setsar=1");
}

}  // namespace
TEST(RemuxTest, OnlyBrowserFriendlyH264IsPackagedAsIs) {
  ProbeResult probe = Source(1280, 720);
  probe.pix_fmt = "yuv420p";
  EXPECT_TRUE(CanRemux(probe));
  ProbeResult silent = probe;
  silent.audio_codec = "";
  EXPECT_TRUE(CanRemux(silent));
  for (auto spoil : std::vector<void (*)(ProbeResult&)>{
           [](ProbeResult& p) { p.video_codec = "hevc"; },
           [](ProbeResult& p) { p.video_codec = "vp9"; },
           [](ProbeResult& p) { p.pix_fmt = "yuv420p10le"; },
           [](ProbeResult& p) { p.audio_codec = "mp3"; }, [](ProbeResult& p) { p.rotation = 90; },
           [](ProbeResult& p) { p.fps = 120; }}) {
    ProbeResult other = probe;
    spoil(other);
    EXPECT_FALSE(CanRemux(other)) << other.video_codec << " " << other.pix_fmt << " "
                                  << other.audio_codec << " " << other.rotation << " " << other.fps;
  }
}

TEST(RemuxTest, RemuxArgsCopyStreamsUnderNamesTheLadderNeverUses) {
  ProbeResult probe = Source(1280, 720);
  PackageCommand command{.source = "/in/clip", .probe = probe, .output_dir = "/out"};
  std::vector<std::string> args = RemuxArgs(command);
  EXPECT_EQ(ValueOf(args, "-protocol_whitelist"), "file,pipe");
  EXPECT_EQ(ValueOf(args, "-f"), "mov");
  EXPECT_EQ(ValueOf(args, "-c:v"), "copy");
  EXPECT_EQ(ValueOf(args, "-c:a"), "copy");
  EXPECT_EQ(ValueOf(args, "-init_seg_name"), "init-q$RepresentationID$.m4s");
  EXPECT_EQ(ValueOf(args, "-media_seg_name"), "chunk-q$RepresentationID$-$Number%05d$.m4s");
  EXPECT_EQ(args.back(), "/out/manifest.mpd");
  EXPECT_THAT(args, Not(Contains("-filter_complex")));
  command.ladder = PlanLadder(probe);
  EXPECT_EQ(ValueOf(PackageArgs(command), "-init_seg_name"), "init-$RepresentationID$.m4s");
}

}  // namespace dvs::media
