// How a video is shown to API clients: its metadata record plus the URLs of
// its page, manifests and poster.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "metadata/video_metadata.h"

namespace dvs::web {

std::string VideoPagePath(std::string_view id);
std::string ContentPath(std::string_view id, std::string_view file);
std::string VideoJson(const metadata::VideoMetadata& meta);
std::string VideoListJson(const std::vector<metadata::VideoMetadata>& videos);

}  // namespace dvs::web
