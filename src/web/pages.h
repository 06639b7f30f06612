// The HTML pages. Every value from a user (titles, errors) is escaped; the
// pages work without JavaScript, which only adds upload progress, live
// processing state and the DASH player. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "metadata/video_metadata.h"
#include "web/video_json.h"

namespace dvs::web {

// Who looks at a page: shown in its header (with a logout button, or a
// "Log in" link), and whether the upload form is offered.
struct Viewer {
  std::string user;  // empty: anonymous
  bool can_upload = false;
};

// One page of the list, with a link to the next (older) page when there is
// one, and back to the newest when `later_page` (it was asked for by cursor).
std::string IndexPage(const metadata::VideoPage& page, const ProgressOf& progress_of,
                      bool later_page, const Viewer& viewer);

// The login form (works without JavaScript); `error` is shown above it,
// `next` is carried to where a successful login goes.
std::string LoginPage(std::string_view error, std::string_view user, std::string_view next);
// The account page of a logged-in `user`: a form to change the password
// (works without JavaScript); `error` or `notice` is shown above it.
std::string AccountPage(std::string_view user, std::string_view error, std::string_view notice);
// What the video page shows beyond the record: where the player fetches
// (signed URLs for a private video; empty: /content/ paths), and the
// visibility form for the video's owner.
struct WatchOptions {
  std::string dash;
  std::string hls;
  std::string poster;
  bool can_edit = false;
};

std::string VideoPage(const metadata::VideoMetadata& meta, double progress,
                      const WatchOptions& watch = {});

// A page of the site's chrome (style, header with the account bar) around
// `body`, which the caller has escaped.
std::string StandardPage(std::string_view title, std::string_view body, const Viewer& viewer);

// "1:05", "1:02:03".
std::string FormatDuration(double seconds);
// "2026-11-26 22:40 UTC".
std::string FormatDate(int64_t unix_ms);

}  // namespace dvs::web
