// The HTML pages. Every value from a user (titles, errors) is escaped; the
// pages work without JavaScript, which only adds upload progress, live
// processing state and the DASH player. Pure functions.
#pragma once

#include <string>
#include <vector>

#include "metadata/video_metadata.h"

namespace dvs::web {

std::string IndexPage(const std::vector<metadata::VideoMetadata>& videos);
std::string VideoPage(const metadata::VideoMetadata& meta);

// "1:05", "1:02:03".
std::string FormatDuration(double seconds);
// "2026-11-26 22:40 UTC".
std::string FormatDate(int64_t unix_ms);

}  // namespace dvs::web
