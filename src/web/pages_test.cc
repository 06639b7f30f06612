#include "web/pages.h"

#include <string>
#include <vector>

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
          .duration_s = 65};
}

double Progress(const metadata::VideoMetadata&) { return 0.42; }

std::string Index(std::vector<metadata::VideoMetadata> videos, std::string next_cursor = "",
                  bool later_page = false) {
  return IndexPage({std::move(videos), std::move(next_cursor)}, Progress, later_page,
                   Viewer{.user = "alice", .can_upload = true});
}

TEST(PagesTest, AnonymousVisitorsGetALoginLinkAndNoUploadForm) {
  std::string html = IndexPage({}, Progress, false, Viewer{});
  EXPECT_THAT(html, HasSubstr("href=\"/login\""));
  EXPECT_THAT(html, Not(HasSubstr("action=\"/upload\"")));
  EXPECT_THAT(html, Not(HasSubstr("action=\"/logout\"")));
}

TEST(PagesTest, ALoggedInUserSeesTheirNameAndALogoutButton) {
  std::string html = IndexPage({}, Progress, false, Viewer{.user = "<b>bob", .can_upload = true});
  EXPECT_THAT(html, HasSubstr("&lt;b&gt;bob"));
  EXPECT_THAT(html, HasSubstr("method=\"post\" action=\"/logout\""));
  EXPECT_THAT(html, Not(HasSubstr("href=\"/login\"")));
}

TEST(PagesTest, TheLoginFormPostsUserAndPasswordAndEscapesWhatItEchoes) {
  std::string html = LoginPage("wrong <password>", "\"><script>", "/videos/x\"");
  EXPECT_THAT(html, HasSubstr("method=\"post\" action=\"/login\""));
  EXPECT_THAT(html, HasSubstr("name=\"user\""));
  EXPECT_THAT(html, HasSubstr("name=\"password\" type=\"password\""));
  EXPECT_THAT(html, HasSubstr("wrong &lt;password&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("\"><script>")));
}

TEST(PagesTest, TitlesAreEscapedEverywhere) {
  metadata::VideoMetadata meta = Video(metadata::VideoState::kReady);
  for (const std::string& html : {Index({meta}), VideoPage(meta, 0.42)}) {
    EXPECT_THAT(html, Not(HasSubstr("<script>alert")));
    EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert("));
  }
}

TEST(PagesTest, TitlesAreIsolatedFromTheTextDirectionAroundThem) {
  metadata::VideoMetadata meta = Video(metadata::VideoState::kReady);
  meta.title = "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D.mp4";  // Hebrew
  EXPECT_THAT(Index({meta}), HasSubstr("dir=\"auto\">\xD7\xA9"));
  EXPECT_THAT(VideoPage(meta, 0.42), HasSubstr("<h1 dir=\"auto\">\xD7\xA9"));
}

TEST(PagesTest, IndexHasAFormThatWorksWithoutJavaScript) {
  std::string html = Index({});
  EXPECT_THAT(html, HasSubstr("method=\"post\" action=\"/upload\""));
  EXPECT_THAT(html, HasSubstr("enctype=\"multipart/form-data\""));
  EXPECT_THAT(html, HasSubstr("name=\"file\""));
  EXPECT_THAT(html, HasSubstr("No videos yet"));
}

TEST(PagesTest, IndexShowsDateDurationAndProgress) {
  std::string html = Index({Video(metadata::VideoState::kProcessing)});
  EXPECT_THAT(html, HasSubstr("2023-11-14 22:13 UTC"));
  EXPECT_THAT(html, HasSubstr("1:05"));
  EXPECT_THAT(html, HasSubstr("processing 42%"));
  EXPECT_THAT(html, HasSubstr("href=\"/videos/clip\""));
}

TEST(PagesTest, IndexLinksToOlderVideosOnlyWhenThereAreMore) {
  std::string first = Index({Video(metadata::VideoState::kReady)}, "1700000000000.clip");
  EXPECT_THAT(first, HasSubstr("href=\"/?cursor=1700000000000.clip\">Older videos"));
  EXPECT_THAT(first, Not(HasSubstr("Newest videos")));
  std::string last = Index({Video(metadata::VideoState::kReady)}, "", true);
  EXPECT_THAT(last, Not(HasSubstr("Older videos")));
  EXPECT_THAT(last, HasSubstr("href=\"/\">Newest videos"));
  EXPECT_THAT(Index({}, "", true), HasSubstr("No older videos"));
}

TEST(PagesTest, ListShowsThePosterTheRecordNames) {
  metadata::VideoMetadata meta = Video(metadata::VideoState::kReady);
  EXPECT_THAT(Index({meta}), Not(HasSubstr("<img")));
  meta.poster = "poster.jpg";
  EXPECT_THAT(Index({meta}), HasSubstr("<img src=\"/content/clip/poster.jpg\""));
}

TEST(PagesTest, ProcessingPageRefreshesItselfAndShowsProgress) {
  std::string html = VideoPage(Video(metadata::VideoState::kProcessing), 0.42);
  EXPECT_THAT(html, HasSubstr("http-equiv=\"refresh\""));
  EXPECT_THAT(html, HasSubstr("42%"));
  EXPECT_THAT(html, Not(HasSubstr("<video")));
}

TEST(PagesTest, PlayablePageHasThePlayerAndLocalDashJs) {
  metadata::VideoMetadata meta = Video(metadata::VideoState::kReady);
  meta.playable = true;
  std::string html = VideoPage(meta, 0.42);
  EXPECT_THAT(html, HasSubstr("<video id=\"player\""));
  EXPECT_THAT(html, HasSubstr("data-dash=\"/content/clip/manifest.mpd\""));
  EXPECT_THAT(html, HasSubstr("src=\"/static/dash.all.min.js\""));
  EXPECT_THAT(html, Not(HasSubstr("http-equiv=\"refresh\"")));
  EXPECT_THAT(html, Not(HasSubstr("//cdn")));
}

TEST(PagesTest, FailedPageSaysWhy) {
  metadata::VideoMetadata meta = Video(metadata::VideoState::kFailed);
  meta.error = "ffmpeg <failed>";
  std::string html = VideoPage(meta, 0.42);
  EXPECT_THAT(html, HasSubstr("could not be processed: ffmpeg &lt;failed&gt;"));
}

TEST(PagesTest, OnlyTheOwnerOfAFailedVideoGetsARetryButton) {
  metadata::VideoMetadata meta = Video(metadata::VideoState::kFailed);
  EXPECT_THAT(VideoPage(meta, 0, {.can_edit = true}), HasSubstr("id=\"retry-form\""));
  EXPECT_THAT(VideoPage(meta, 0, {.can_edit = false}), Not(HasSubstr("retry-form")));
  EXPECT_THAT(VideoPage(Video(metadata::VideoState::kReady), 0, {.can_edit = true}),
              Not(HasSubstr("retry-form")));
}

TEST(FormatTest, DurationsAndDates) {
  EXPECT_EQ(FormatDuration(0), "0:00");
  EXPECT_EQ(FormatDuration(59.6), "1:00");
  EXPECT_EQ(FormatDuration(3723), "1:02:03");
  EXPECT_EQ(FormatDate(0), "1970-01-01 00:00 UTC");
}

}  // namespace
}  // namespace dvs::web
