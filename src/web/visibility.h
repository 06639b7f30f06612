// Who sees which video (DESIGN §7a). A public video is seen and listed by
// everyone; an unlisted one is seen by anyone who has its URL but listed for
// its owner only; a private one is seen by its owner and administrators
// only, and to everyone else it does not exist (404, never 403). Lists
// leave out what the viewer may not find there, and keep their pages full
// by reading further. Plain functions, thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "access/policy.h"
#include "metadata/metadata_service.h"
#include "metadata/video_metadata.h"

namespace dvs::web {

// "public", "unlisted", "private"; InvalidArgument naming them otherwise.
[[nodiscard]] absl::StatusOr<metadata::Visibility> ParseVisibility(std::string_view name);

// The one answer for a video that is not there or that `who` may not see.
absl::Status NoSuchVideo(std::string_view id);

// May `who` open the video's page, record and files?
bool MaySee(const access::Principal& who, const metadata::VideoMetadata& meta);
// Is the video in the lists `who` sees? Public ones, and one's own.
bool ListedFor(const access::Principal& who, const metadata::VideoMetadata& meta);

using VideoFilter = std::function<bool(const metadata::VideoMetadata&)>;

// Up to `limit` videos that `shown` keeps, from the list after `cursor`,
// read from `metadata` in batches of `limit` until the page is full, the
// list ends, or kMaxBatches were read (then the page is short, and its
// cursor goes on from the last video looked at). The walk page by page
// skips no shown video and lists none twice.
inline constexpr int kMaxListBatches = 8;
[[nodiscard]] absl::StatusOr<metadata::VideoPage> ListShown(
    metadata::VideoMetadataService& metadata, std::string_view cursor, size_t limit,
    const VideoFilter& shown);

}  // namespace dvs::web
