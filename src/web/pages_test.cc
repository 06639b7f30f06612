#include "web/pages.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dvs::web {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

metadata::VideoMetadata Video(metadata::VideoState state) {
  return {.id = "clip",
          .title = "<script>alert('x')</script>.mp4",
          .uploaded_at_ms = 1700000000000,
          .state = state,
          .progress = 0.42,
          .duration_s = 65};
}

TEST(PagesTest, TitlesAreEscapedEverywhere) {
  metadata::VideoMetadata meta = Video(metadata::VideoState::kReady);
  for (const std::string& html : {IndexPage({meta}), VideoPage(meta)}) {
    EXPECT_THAT(html, Not(HasSubstr("<script>alert")));
    EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert("));
  }
}

TEST(PagesTest, TitlesAreIsolatedFromTheTextDirectionAroundThem) {
  metadata::VideoMetadata meta = Video(metadata::VideoState::kReady);
  meta.title = "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D.mp4";  // Hebrew
  EXPECT_THAT(IndexPage({meta}), HasSubstr("dir=\"auto\">\xD7\xA9"));
  EXPECT_THAT(VideoPage(meta), HasSubstr("<h1 dir=\"auto\">\xD7\xA9"));
}

TEST(PagesTest, IndexHasAFormThatWorksWithoutJavaScript) {
  std::string html = IndexPage({});
  EXPECT_THAT(html, HasSubstr("method=\"post\" action=\"/upload\""));
  EXPECT_THAT(html, HasSubstr("enctype=\"multipart/form-data\""));
  EXPECT_THAT(html, HasSubstr("name=\"file\""));
  EXPECT_THAT(html, HasSubstr("No videos yet"));
}

TEST(PagesTest, IndexShowsDateDurationAndProgress) {
  std::string html = IndexPage({Video(metadata::VideoState::kProcessing)});
  EXPECT_THAT(html, HasSubstr("2023-11-14 22:13 UTC"));
  EXPECT_THAT(html, HasSubstr("1:05"));
  EXPECT_THAT(html, HasSubstr("processing 42%"));
  EXPECT_THAT(html, HasSubstr("href=\"/videos/clip\""));
}

TEST(PagesTest, ProcessingPageRefreshesItselfAndShowsProgress) {
  std::string html = VideoPage(Video(metadata::VideoState::kProcessing));
  EXPECT_THAT(html, HasSubstr("http-equiv=\"refresh\""));
  EXPECT_THAT(html, HasSubstr("42%"));
  EXPECT_THAT(html, Not(HasSubstr("<video")));
}

TEST(PagesTest, PlayablePageHasThePlayerAndLocalDashJs) {
  metadata::VideoMetadata meta = Video(metadata::VideoState::kReady);
  meta.playable = true;
  std::string html = VideoPage(meta);
  EXPECT_THAT(html, HasSubstr("<video id=\"player\""));
  EXPECT_THAT(html, HasSubstr("data-dash=\"/content/clip/manifest.mpd\""));
  EXPECT_THAT(html, HasSubstr("src=\"/static/dash.all.min.js\""));
  EXPECT_THAT(html, Not(HasSubstr("http-equiv=\"refresh\"")));
  EXPECT_THAT(html, Not(HasSubstr("//cdn")));
}

TEST(PagesTest, FailedPageSaysWhy) {
  metadata::VideoMetadata meta = Video(metadata::VideoState::kFailed);
  meta.error = "ffmpeg <failed>";
  std::string html = VideoPage(meta);
  EXPECT_THAT(html, HasSubstr("could not be processed: ffmpeg &lt;failed&gt;"));
}

TEST(FormatTest, DurationsAndDates) {
  EXPECT_EQ(FormatDuration(0), "0:00");
  EXPECT_EQ(FormatDuration(59.6), "1:00");
  EXPECT_EQ(FormatDuration(3723), "1:02:03");
  EXPECT_EQ(FormatDate(0), "1970-01-01 00:00 UTC");
}

}  // namespace
}  // namespace dvs::web
