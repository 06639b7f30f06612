#include "media/transcoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "media/probe.h"
#include "media/test_clips.h"

namespace dvs::media {
namespace {

using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::Le;
using testing::MakeVideo;
using ::testing::Not;
using testing::TempDir;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::set<std::string> FilesIn(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

struct Representation {
  std::string id;
  std::string content_type;
  int segments = 0;      // from the SegmentTimeline: one per <S>, plus its r repeats
  std::string timeline;  // its <S> elements, as written
};

// Just enough MPD reading for these tests: ffmpeg writes one element a line.
std::vector<Representation> RepresentationsIn(const std::string& mpd) {
  static const std::regex kSet(R"re(<AdaptationSet [^>]*contentType="(\w+)")re");
  static const std::regex kRep(R"re(<Representation id="(\w+)")re");
  static const std::regex kS(R"re(<S [^>]*/>)re");
  static const std::regex kRepeat(R"re( r="(\d+)")re");
  std::vector<Representation> reps;
  std::string type;
  std::istringstream lines(mpd);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, kSet)) type = m[1];
    if (std::regex_search(line, m, kRep)) reps.push_back({m[1], type, 0});
    if (std::regex_search(line, m, kS) && !reps.empty()) {
      std::smatch repeat;
      reps.back().segments +=
          1 + (std::regex_search(line, repeat, kRepeat) ? std::stoi(repeat[1]) : 0);
      reps.back().timeline += m.str();
    }
  }
  return reps;
}

// Checks every file the manifest implies, and that nothing else was written.
void ExpectCompleteOutput(const fs::path& dir, const std::vector<Representation>& reps) {
  std::set<std::string> expected = {"manifest.mpd", "master.m3u8", "poster.jpg"};
  for (size_t i = 0; i < reps.size(); ++i) {
    EXPECT_GT(reps[i].segments, 0) << reps[i].id;
    expected.insert("media_" + std::to_string(i) + ".m3u8");
    expected.insert("init-" + reps[i].id + ".m4s");
    for (int n = 1; n <= reps[i].segments; ++n) {
      char name[64];
      std::snprintf(name, sizeof(name), "chunk-%s-%05d.m4s", reps[i].id.c_str(), n);
      expected.insert(name);
    }
  }
  EXPECT_EQ(FilesIn(dir), expected);
}

class TranscoderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    clips_ = new TempDir;
    MakeVideo(*clips_ / "av.mp4", 640, 360, 5, /*audio=*/true);
    MakeVideo(*clips_ / "silent.mp4", 320, 180, 3, /*audio=*/false);
  }
  static void TearDownTestSuite() { delete clips_; }

  static ProbeResult MustProbe(const fs::path& file) {
    auto probe = Probe(file);
    EXPECT_TRUE(probe.ok()) << probe.status();
    return probe.ok() ? *probe : ProbeResult{};
  }

  static TempDir* clips_;
  TempDir out_;
};
TempDir* TranscoderTest::clips_ = nullptr;

TEST_F(TranscoderTest, PackagesAClipWithAudioAsDashAndHls) {
  std::vector<double> progress;
  TranscodeRequest request{clips_->path() / "av.mp4", MustProbe(clips_->path() / "av.mp4"),
                           out_ / "video", [&](double p) { progress.push_back(p); }};
  absl::Status status = Transcode(request);
  ASSERT_TRUE(status.ok()) << status;

  std::string mpd = ReadFile(out_ / "video" / "manifest.mpd");
  std::vector<Representation> reps = RepresentationsIn(mpd);
  ASSERT_EQ(reps.size(), 3u) << mpd;  // 360p and 240p video, then audio
  EXPECT_EQ(reps[0].content_type, "video");
  EXPECT_EQ(reps[1].content_type, "video");
  EXPECT_EQ(reps[2].content_type, "audio");
  EXPECT_THAT(mpd, HasSubstr(R"(width="640" height="360")"));
  EXPECT_THAT(mpd, HasSubstr(R"(width="426" height="240")"));
  EXPECT_EQ(reps[0].segments, 2);  // 5 s in 4 s segments
  ExpectCompleteOutput(out_ / "video", reps);

  std::string master = ReadFile(out_ / "video" / "master.m3u8");
  EXPECT_THAT(master, HasSubstr("RESOLUTION=640x360"));
  EXPECT_THAT(master, HasSubstr("media_0.m3u8"));
  EXPECT_THAT(ReadFile(out_ / "video" / "media_1.m3u8"), HasSubstr("chunk-1-00002.m4s"));
  EXPECT_EQ(ReadFile(out_ / "video" / "poster.jpg").substr(0, 3), "\xFF\xD8\xFF");

  ASSERT_FALSE(progress.empty());
  EXPECT_THAT(progress, Each(Ge(0.0)));
  EXPECT_THAT(progress, Each(Le(1.0)));
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  EXPECT_EQ(progress.back(), 1.0);
  EXPECT_GT(progress.size(), 2u);  // something between start and end
}

TEST_F(TranscoderTest, PartsEncodedApartPackageIntoTheSameAlignedLadder) {
  const fs::path source = clips_->path() / "av.mp4";
  const ProbeResult probe = MustProbe(source);
  EXPECT_THAT(LadderParts(probe), ElementsAre("video-0", "video-1", "audio"));
  std::vector<fs::path> videos;
  for (const std::string& part : std::vector<std::string>{"video-1", "video-0", "audio"}) {
    TranscodeRequest request{source, probe, out_.path()};
    absl::Status status = EncodePart(request, part, out_ / "parts" / (part + ".mp4"));
    ASSERT_TRUE(status.ok()) << part << ": " << status;
  }
  EXPECT_EQ(FilesIn(out_ / "parts"),
            (std::set<std::string>{"video-0.mp4", "video-1.mp4", "audio.mp4"}));
  TranscodeRequest request{source, probe, out_ / "video"};
  absl::Status status =
      PackageParts(request, {out_ / "parts" / "video-0.mp4", out_ / "parts" / "video-1.mp4"},
                   out_ / "parts" / "audio.mp4");
  ASSERT_TRUE(status.ok()) << status;

  std::string mpd = ReadFile(out_ / "video" / "manifest.mpd");
  std::vector<Representation> reps = RepresentationsIn(mpd);
  ASSERT_EQ(reps.size(), 3u) << mpd;
  EXPECT_EQ(reps[0].content_type, "video");
  EXPECT_EQ(reps[1].content_type, "video");
  EXPECT_EQ(reps[2].content_type, "audio");
  EXPECT_THAT(mpd, HasSubstr(R"(width="640" height="360")"));
  EXPECT_THAT(mpd, HasSubstr(R"(width="426" height="240")"));
  EXPECT_EQ(reps[0].segments, 2);
  EXPECT_EQ(reps[0].timeline, reps[1].timeline) << "the renditions' segments line up";
  ExpectCompleteOutput(out_ / "video", reps);
  EXPECT_THAT(ReadFile(out_ / "video" / "master.m3u8"), HasSubstr("RESOLUTION=426x240"));
}

TEST_F(TranscoderTest, AnUnknownPartOrPartsNotMatchingTheLadderAreRefused) {
  const fs::path source = clips_->path() / "silent.mp4";
  TranscodeRequest request{source, MustProbe(source), out_ / "video"};
  EXPECT_EQ(EncodePart(request, "audio", out_ / "a.mp4").code(),
            absl::StatusCode::kInvalidArgument);  // the clip has no audio
  EXPECT_EQ(EncodePart(request, "video-1", out_ / "v.mp4").code(),
            absl::StatusCode::kInvalidArgument);  // one rendition only
  EXPECT_EQ(EncodePart(request, "video-x", out_ / "v.mp4").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PackageParts(request, {}, "").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(out_ / "video"));
}

TEST_F(TranscoderTest, APartPastItsTimeLimitIsDeadlineExceededAndLeavesNothing) {
  const fs::path source = clips_->path() / "av.mp4";
  TranscodeRequest request{source, MustProbe(source), out_.path()};
  TranscodeOptions options;
  options.time_limit = std::chrono::milliseconds(1);
  EXPECT_EQ(EncodePart(request, "video-0", out_ / "v.mp4", options).code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(FilesIn(out_.path()), std::set<std::string>{});
}

TEST_F(TranscoderTest, PackagesAClipWithoutAudio) {
  TranscodeRequest request{clips_->path() / "silent.mp4", MustProbe(clips_->path() / "silent.mp4"),
                           out_.path()};
  absl::Status status = Transcode(request);
  ASSERT_TRUE(status.ok()) << status;
  std::string mpd = ReadFile(out_ / "manifest.mpd");
  std::vector<Representation> reps = RepresentationsIn(mpd);
  ASSERT_EQ(reps.size(), 1u) << mpd;  // 180p is below every standard rung
  EXPECT_EQ(reps[0].content_type, "video");
  EXPECT_THAT(mpd, Not(HasSubstr("audio")));
  ExpectCompleteOutput(out_.path(), reps);
}

TEST_F(TranscoderTest, PackagesARotatedClipInPortrait) {
  fs::path rotated = out_ / "rotated.mp4";
  testing::RunFfmpeg({"-i", (clips_->path() / "silent.mp4").string(), "-c", "copy",
                      "-metadata:s:v:0", "rotate=90", rotated.string()});
  TranscodeRequest request{rotated, MustProbe(rotated), out_ / "video"};
  absl::Status status = Transcode(request);
  ASSERT_TRUE(status.ok()) << status;
  std::string mpd = ReadFile(out_ / "video" / "manifest.mpd");
  EXPECT_THAT(mpd, HasSubstr(R"(width="180" height="320")"));
  EXPECT_THAT(mpd, HasSubstr(R"(width="136" height="240")"));
  ExpectCompleteOutput(out_ / "video", RepresentationsIn(mpd));
}

TEST_F(TranscoderTest, CancelStopsQuicklyAndLeavesNothing) {
  std::atomic<bool> cancel{false};
  TranscodeRequest request{clips_->path() / "av.mp4", MustProbe(clips_->path() / "av.mp4"),
                           out_ / "video"};
  request.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  Clock::time_point start = Clock::now();
  absl::Status status = Transcode(request);
  canceller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  EXPECT_FALSE(fs::exists(out_ / "video"));
}

TEST_F(TranscoderTest, ATinyTimeLimitIsDeadlineExceeded) {
  TranscodeRequest request{clips_->path() / "av.mp4", MustProbe(clips_->path() / "av.mp4"),
                           out_ / "video"};
  absl::Status status = Transcode(request, {.time_limit = std::chrono::milliseconds(200)});
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_FALSE(fs::exists(out_ / "video"));
}

TEST_F(TranscoderTest, AFailingFfmpegIsInternalWithItsLastWordsAndKeepsOtherFiles) {
  std::ofstream(out_ / "garbage.mp4") << "not really a video";
  std::ofstream(out_ / "keep.txt") << "someone else's";
  // The probe of a real clip, the bytes of something else.
  TranscodeRequest request{out_ / "garbage.mp4", MustProbe(clips_->path() / "silent.mp4"),
                           out_.path()};
  absl::Status status = Transcode(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("moov atom not found"));
  EXPECT_EQ(FilesIn(out_.path()), (std::set<std::string>{"garbage.mp4", "keep.txt"}));
}

TEST_F(TranscoderTest, RemuxPackagesTheSourceAsItIsInAboutNoTime) {
  ProbeResult probe = MustProbe(clips_->path() / "av.mp4");
  ASSERT_TRUE(CanRemux(probe));
  TranscodeRequest request{clips_->path() / "av.mp4", probe, out_ / "quick"};
  Clock::time_point start = Clock::now();
  absl::Status status = Remux(request);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));

  std::vector<Representation> reps = RepresentationsIn(ReadFile(out_ / "quick" / "manifest.mpd"));
  ASSERT_EQ(reps.size(), 2u);  // the source's video and audio, untouched
  std::set<std::string> expected = {"manifest.mpd"};
  for (const Representation& rep : reps) {
    expected.insert("init-q" + rep.id + ".m4s");
    for (int n = 1; n <= rep.segments; ++n) {
      char name[64];
      std::snprintf(name, sizeof(name), "chunk-q%s-%05d.m4s", rep.id.c_str(), n);
      expected.insert(name);
    }
  }
  EXPECT_EQ(FilesIn(out_ / "quick"), expected);
}

TEST_F(TranscoderTest, RemuxOfABrokenSourceFailsAndLeavesNothing) {
  std::ofstream(out_ / "broken.mp4") << "not really a video";
  ProbeResult probe = MustProbe(clips_->path() / "av.mp4");
  TranscodeRequest request{out_ / "broken.mp4", probe, out_ / "quick"};
  absl::Status status = Remux(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_FALSE(fs::exists(out_ / "quick"));
}

TEST(ProgressFromLineTest, ReadsOutTimeAgainstTheDuration) {
  EXPECT_DOUBLE_EQ(ProgressFromLine("out_time_us=2500000", 10), 0.25);
  EXPECT_DOUBLE_EQ(ProgressFromLine("out_time_ms=5000000", 10), 0.5);  // µs despite the name
  EXPECT_DOUBLE_EQ(ProgressFromLine("out_time_us=99000000", 10), 1.0);
  EXPECT_DOUBLE_EQ(ProgressFromLine("out_time_us=-5000", 10), 0.0);
}

TEST(ProgressFromLineTest, IgnoresOtherLines) {
  EXPECT_EQ(ProgressFromLine("frame=12", 10), -1);
  EXPECT_EQ(ProgressFromLine("out_time=00:00:02.500000", 10), -1);
  EXPECT_EQ(ProgressFromLine("out_time_us=N/A", 10), -1);
  EXPECT_EQ(ProgressFromLine("progress=end", 10), -1);
  EXPECT_EQ(ProgressFromLine("out_time_us=1000000", 0), -1);
}

}  // namespace
}  // namespace dvs::media
