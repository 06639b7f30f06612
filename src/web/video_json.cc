#include "web/video_json.h"

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"

namespace dvs::web {
namespace {

using Json = nlohmann::json;

Json VideoObject(const metadata::VideoMetadata& meta, double progress) {
  Json video = metadata::ToJsonValue(meta);
  video.erase("index");  // where the index is stored is the server's business
  video["progress"] = progress;
  Json urls = {{"page", VideoPagePath(meta.id)}};
  if (meta.playable) urls["dash"] = ContentPath(meta.id, "manifest.mpd");
  // HLS playlists come with the ladder, not with the quick copy.
  if (meta.hls) urls["hls"] = ContentPath(meta.id, "master.m3u8");
  if (!meta.poster.empty()) urls["poster"] = ContentPath(meta.id, meta.poster);
  video["urls"] = std::move(urls);
  return video;
}

}  // namespace

// Ids and file names are validated before they get here, so they need no
// escaping in a path.
std::string VideoPagePath(std::string_view id) {
  return absl::StrCat("/videos/", common::AsAbsl(id));
}

std::string ContentPath(std::string_view id, std::string_view file) {
  return absl::StrCat("/content/", common::AsAbsl(id), "/", common::AsAbsl(file));
}

std::string VideoJson(const metadata::VideoMetadata& meta, double progress,
                      const metadata::FileIndex* files) {
  Json video = VideoObject(meta, progress);
  if (files != nullptr) {
    Json list = Json::array();
    for (const metadata::StoredFile& f : files->files()) {
      list.push_back({{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}});
    }
    video["files"] = std::move(list);
  }
  return video.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string VideoPageJson(const metadata::VideoPage& page, const ProgressOf& progress_of) {
  Json list = Json::array();
  for (const metadata::VideoMetadata& meta : page.videos) {
    list.push_back(VideoObject(meta, progress_of(meta)));
  }
  Json next = page.next_cursor.empty() ? Json(nullptr) : Json(page.next_cursor);
  return Json{{"videos", std::move(list)}, {"next_cursor", std::move(next)}}.dump(
      -1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace dvs::web
