#include "web/pages.h"

#include <cmath>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/strings.h"
#include "http/message.h"
#include "web/video_json.h"

namespace dvs::web {
namespace {

using http::HtmlEscape;

// The header's account part: who is logged in and a logout button, or a
// link to the login form.
std::string AccountBar(const Viewer& viewer) {
  if (viewer.user.empty()) {
    return "<nav class=\"account\"><a id=\"login-link\" href=\"/login\">Log in</a></nav>";
  }
  return absl::StrCat(
      "<nav class=\"account\"><a href=\"/account\" title=\"Your account\">"
      "<span id=\"logged-in-user\">",
      HtmlEscape(viewer.user),
      "</span></a> <form method=\"post\" action=\"/logout\"><button id=\"logout\" "
      "type=\"submit\">Log out</button></form></nav>");
}

std::string Layout(std::string_view title, std::string_view head_extra, std::string_view body,
                   std::string_view account = {}) {
  using common::AsAbsl;
  return absl::StrCat(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>",
      HtmlEscape(title),
      " · dvs</title><link rel=\"icon\" href=\"/static/icon.svg\">"
      "<link rel=\"stylesheet\" href=\"/static/style.css\">",
      AsAbsl(head_extra), "</head><body><header><a class=\"brand\" href=\"/\">dvs</a>",
      AsAbsl(account), "</header><main>", AsAbsl(body), "</main></body></html>\n");
}

std::string StateBadge(const metadata::VideoMetadata& meta, double progress) {
  absl::string_view state = common::AsAbsl(metadata::VideoStateName(meta.state));
  std::string label(state.data(), state.size());
  if (meta.state == metadata::VideoState::kProcessing) {
    label = absl::StrFormat("processing %d%%", static_cast<int>(progress * 100));
  }
  return absl::StrCat("<span class=\"state state-", state, "\">", label, "</span>");
}

// Only the owner sees an unlisted or private video in a list: marked so.
std::string VisibilityBadge(const metadata::VideoMetadata& meta) {
  if (meta.visibility == metadata::Visibility::kPublic) return "";
  absl::string_view name = common::AsAbsl(metadata::VisibilityName(meta.visibility));
  return absl::StrCat(" · <span class=\"visibility visibility-", name, "\">", name, "</span>");
}

// Titles are printed with dir="auto": the browser then isolates their text
// direction, so a right-to-left title (or a bidi override kept from before
// uploads were checked for them) cannot reorder the text around it.
std::string VideoListItem(const metadata::VideoMetadata& meta, double progress) {
  std::string poster = !meta.poster.empty()
                           ? absl::StrCat("<img src=\"", ContentPath(meta.id, meta.poster),
                                          "\" alt=\"\" loading=\"lazy\">")
                           : "<div class=\"poster-missing\"></div>";
  return absl::StrCat("<li class=\"video\" data-id=\"", meta.id, "\"><a href=\"",
                      VideoPagePath(meta.id), "\">", poster, "<span class=\"title\" dir=\"auto\">",
                      HtmlEscape(meta.title), "</span></a><span class=\"details\"><time>",
                      FormatDate(meta.uploaded_at_ms), "</time> · ",
                      FormatDuration(meta.duration_s), " · ", StateBadge(meta, progress),
                      VisibilityBadge(meta), "</span></li>");
}

constexpr std::string_view kUploadForm = R"(<section class="upload"><h1>Upload a video</h1>
<form id="upload-form" method="post" action="/upload" enctype="multipart/form-data">
<label>Visibility <select name="visibility" id="upload-visibility">
<option value="public">Public</option><option value="unlisted">Unlisted</option>
<option value="private">Private</option></select></label>
<input type="file" name="file" accept="video/*" required aria-label="Video file">
<button type="submit">Upload</button>
<progress id="upload-progress" max="1" value="0" hidden></progress>
<p id="upload-status" role="status" aria-live="polite"></p>
</form></section>)";

std::string PlayerSection(const metadata::VideoMetadata& meta, const WatchOptions& watch) {
  std::string poster_url = !watch.poster.empty()  ? watch.poster
                           : !meta.poster.empty() ? ContentPath(meta.id, meta.poster)
                                                  : "";
  std::string poster =
      !poster_url.empty() ? absl::StrCat(" poster=\"", HtmlEscape(poster_url), "\"") : "";
  std::string dash = !watch.dash.empty() ? watch.dash : ContentPath(meta.id, "manifest.mpd");
  std::string hls = !watch.hls.empty() ? watch.hls : ContentPath(meta.id, "master.m3u8");
  return absl::StrCat(
      "<video id=\"player\" controls playsinline preload=\"metadata\"", poster, " data-dash=\"",
      HtmlEscape(dash), "\" data-hls=\"", HtmlEscape(hls), "\"></video>",
      "<p class=\"quality\"><label for=\"quality\">Quality</label> <select id=\"quality\">"
      "<option value=\"auto\">Auto</option></select></p>"
      "<script src=\"/static/dash.all.min.js\" defer></script>");
}

// The owner's form; player.js sends it as PATCH /api/videos/:id.
std::string VisibilityForm(const metadata::VideoMetadata& meta) {
  std::string options;
  for (metadata::Visibility visibility :
       {metadata::Visibility::kPublic, metadata::Visibility::kUnlisted,
        metadata::Visibility::kPrivate}) {
    absl::string_view name = common::AsAbsl(metadata::VisibilityName(visibility));
    absl::StrAppend(&options, "<option value=\"", name, "\"",
                    visibility == meta.visibility ? " selected" : "", ">", name, "</option>");
  }
  return absl::StrCat(
      "<form id=\"visibility-form\" class=\"visibility-form\"><label>Visibility <select "
      "name=\"visibility\" id=\"visibility\">",
      options,
      "</select></label> <button type=\"submit\">Save</button> <span id=\"visibility-status\" "
      "role=\"status\"></span></form>");
}

// A failed video's owner may queue it again from its kept source; player.js
// sends the form as POST /api/videos/:id/retry.
std::string StateSection(const metadata::VideoMetadata& meta, double progress, bool can_edit) {
  if (meta.state == metadata::VideoState::kFailed) {
    return absl::StrCat(
        "<p class=\"error\" id=\"video-state\" data-state=\"failed\">",
        "This video could not be processed: ", HtmlEscape(meta.error), "</p>",
        can_edit ? "<form id=\"retry-form\" class=\"retry-form\"><button type=\"submit\">Retry"
                   "</button> <span id=\"retry-status\" role=\"status\"></span></form>"
                 : "");
  }
  return absl::StrCat(
      "<div id=\"video-state\" data-state=\"processing\"><p>Processing… <span id=\"percent\">",
      static_cast<int>(progress * 100),
      "%</span></p><progress id=\"processing-progress\" max=\"1\" value=\"",
      absl::StrFormat("%.3f", progress), "\"></progress></div>");
}

}  // namespace

std::string StandardPage(std::string_view title, std::string_view body, const Viewer& viewer) {
  return Layout(title, {}, body, AccountBar(viewer));
}

std::string FormatDuration(double seconds) {
  long total = std::lround(std::max(0.0, seconds));
  if (total >= 3600) {
    return absl::StrFormat("%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60);
  }
  return absl::StrFormat("%d:%02d", total / 60, total % 60);
}

std::string FormatDate(int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
  return text;
}

std::string IndexPage(const metadata::VideoPage& page, const ProgressOf& progress_of,
                      bool later_page, const Viewer& viewer) {
  std::string list;
  for (const metadata::VideoMetadata& meta : page.videos) {
    list += VideoListItem(meta, progress_of(meta));
  }
  if (page.videos.empty()) {
    list = later_page
               ? "<li class=\"empty\">No older videos.</li>"
               : (viewer.can_upload ? "<li class=\"empty\">No videos yet. Upload one above.</li>"
                                    : "<li class=\"empty\">No videos yet.</li>");
  }
  // Cursors are made of name characters and digits only: safe in a URL.
  std::string pager;
  if (later_page) pager += "<a href=\"/\">Newest videos</a>";
  if (!page.next_cursor.empty()) {
    pager += absl::StrCat(later_page ? " · " : "",
                          "<a rel=\"next\" href=\"/?cursor=", HtmlEscape(page.next_cursor),
                          "\">Older videos</a>");
  }
  if (!pager.empty()) pager = absl::StrCat("<nav class=\"pager\">", pager, "</nav>");
  // tus-js-client (from npm) before app.js, which uploads with it.
  return Layout("Videos",
                viewer.can_upload ? "<script src=\"/static/tus.min.js\" defer></script>"
                                    "<script src=\"/static/app.js\" defer></script>"
                                  : "<script src=\"/static/app.js\" defer></script>",
                absl::StrCat(viewer.can_upload ? common::AsAbsl(kUploadForm) : "",
                             "<section><h2>Videos</h2><ul class=\"videos\">", list, "</ul>", pager,
                             "</section>"),
                AccountBar(viewer));
}

std::string LoginPage(std::string_view error, std::string_view user, std::string_view next) {
  std::string message = error.empty()
                            ? ""
                            : absl::StrCat("<p class=\"error\" id=\"login-error\" role=\"alert\">",
                                           HtmlEscape(error), "</p>");
  return Layout(
      "Log in", "",
      absl::StrCat("<section class=\"login\"><h1>Log in</h1>", message,
                   "<form id=\"login-form\" method=\"post\" action=\"/login\">"
                   "<label>User <input name=\"user\" autocomplete=\"username\" required "
                   "value=\"",
                   HtmlEscape(user),
                   "\"></label><label>Password <input name=\"password\" type=\"password\" "
                   "autocomplete=\"current-password\" required></label>"
                   "<input type=\"hidden\" name=\"next\" value=\"",
                   HtmlEscape(next),
                   "\"><button type=\"submit\">Log in</button></form></section>"));
}

std::string AccountPage(std::string_view user, std::string_view error, std::string_view notice) {
  std::string message =
      !error.empty()    ? absl::StrCat("<p class=\"error\" id=\"account-error\" role=\"alert\">",
                                       HtmlEscape(error), "</p>")
      : !notice.empty() ? absl::StrCat("<p class=\"notice\" id=\"account-notice\" role=\"status\">",
                                       HtmlEscape(notice), "</p>")
                        : "";
  return Layout(
      "Your account", "",
      absl::StrCat("<section class=\"login\"><h1>", HtmlEscape(user), "</h1>", message,
                   "<h2>Change your password</h2>"
                   "<form id=\"password-form\" method=\"post\" action=\"/account/password\">"
                   "<label>Current password <input name=\"current\" type=\"password\" "
                   "autocomplete=\"current-password\" required></label>"
                   "<label>New password (8 characters or more) <input name=\"password\" "
                   "type=\"password\" autocomplete=\"new-password\" minlength=\"8\" "
                   "required></label>"
                   "<label>New password again <input name=\"repeat\" type=\"password\" "
                   "autocomplete=\"new-password\" minlength=\"8\" required></label>"
                   "<button type=\"submit\">Change password</button></form>"
                   "<p class=\"details\">Your other sessions and your API tokens end when the "
                   "password changes.</p></section>"),
      AccountBar(Viewer{.user = std::string(user)}));
}

std::string VideoPage(const metadata::VideoMetadata& meta, double progress,
                      const WatchOptions& watch) {
  bool settled = meta.playable || meta.state == metadata::VideoState::kFailed;
  std::string head = absl::StrCat(
      settled ? "" : "<noscript><meta http-equiv=\"refresh\" content=\"3\"></noscript>",
      "<script src=\"/static/player.js\" defer></script>");
  std::string body = absl::StrCat(
      "<article class=\"watch\" data-id=\"", meta.id, "\"><h1 dir=\"auto\">",
      HtmlEscape(meta.title), "</h1>",
      meta.playable ? PlayerSection(meta, watch) : StateSection(meta, progress, watch.can_edit),
      meta.playable && meta.state == metadata::VideoState::kProcessing
          ? "<p class=\"details\" id=\"ladder-state\">Playing the upload as it is; more "
            "qualities are on their way.</p>"
          : "",
      "<p class=\"details\">", FormatDate(meta.uploaded_at_ms), " · ",
      FormatDuration(meta.duration_s),
      meta.width > 0 ? absl::StrCat(" · ", meta.width, "×", meta.height) : "",
      meta.visibility != metadata::Visibility::kPublic ? VisibilityBadge(meta) : "", "</p>",
      watch.can_edit ? VisibilityForm(meta) : "", "</article>");
  return Layout(meta.title, head, body);
}

}  // namespace dvs::web
