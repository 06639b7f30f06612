#include "web/visibility.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"

namespace dvs::web {

absl::StatusOr<metadata::Visibility> ParseVisibility(std::string_view name) {
  for (metadata::Visibility visibility :
       {metadata::Visibility::kPublic, metadata::Visibility::kUnlisted,
        metadata::Visibility::kPrivate}) {
    if (metadata::VisibilityName(visibility) == name) return visibility;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("visibility must be public, unlisted or private, not \"",
                   common::AsAbsl(name.substr(0, 32)), "\""));
}

absl::Status NoSuchVideo(std::string_view id) {
  return absl::NotFoundError(absl::StrCat("there is no video \"", common::AsAbsl(id), "\""));
}

bool MaySee(const access::Principal& who, const metadata::VideoMetadata& meta) {
  return meta.visibility != metadata::Visibility::kPrivate || access::MaySeeHidden(who, meta.owner);
}

bool ListedFor(const access::Principal& who, const metadata::VideoMetadata& meta) {
  return meta.visibility == metadata::Visibility::kPublic ||
         (!who.anonymous() && meta.owner == who.user);
}

absl::StatusOr<metadata::VideoPage> ListShown(metadata::VideoMetadataService& metadata,
                                              std::string_view cursor, size_t limit,
                                              const VideoFilter& shown) {
  metadata::VideoPage page;
  std::string next(cursor);
  for (int batch = 0; batch < kMaxListBatches; ++batch) {
    ASSIGN_OR_RETURN(metadata::VideoPage read, metadata.List(next, limit));
    for (metadata::VideoMetadata& meta : read.videos) {
      // Every video up to this one has been looked at: a later page starts after it.
      next = metadata::ListCursorAfter(meta);
      if (shown(meta)) page.videos.push_back(std::move(meta));
      if (page.videos.size() == limit) {
        bool last_of_list = read.next_cursor.empty() && &meta == &read.videos.back();
        page.next_cursor = last_of_list ? "" : next;
        return page;
      }
    }
    if (read.next_cursor.empty()) return page;  // the end of the list
    next = read.next_cursor;
  }
  page.next_cursor = next;
  return page;
}

}  // namespace dvs::web
