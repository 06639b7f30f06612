// How a video is shown to API clients: its record (without the reference to
// its file index), its progress, the URLs of its page, manifests and poster,
// and on a single video's own answer the files of its index.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "metadata/video_metadata.h"

namespace dvs::web {

// The progress to show for a video (0..1).
using ProgressOf = std::function<double(const metadata::VideoMetadata&)>;

std::string VideoPagePath(std::string_view id);
std::string ContentPath(std::string_view id, std::string_view file);
// `files` may be null: the answer then has no "files".
std::string VideoJson(const metadata::VideoMetadata& meta, double progress,
                      const metadata::FileIndex* files);
// {"videos": [summaries], "next_cursor": "…" or null}.
std::string VideoPageJson(const metadata::VideoPage& page, const ProgressOf& progress_of);

}  // namespace dvs::web
