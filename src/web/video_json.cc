#include "web/video_json.h"

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"

namespace dvs::web {
namespace {

nlohmann::json VideoObject(const metadata::VideoMetadata& meta) {
  nlohmann::json video = nlohmann::json::parse(metadata::ToJson(meta));
  nlohmann::json urls = {{"page", VideoPagePath(meta.id)}};
  if (meta.playable) urls["dash"] = ContentPath(meta.id, "manifest.mpd");
  // HLS playlists come with the ladder, not with the quick copy.
  if (meta.FindFile("master.m3u8") != nullptr) urls["hls"] = ContentPath(meta.id, "master.m3u8");
  if (meta.FindFile("poster.jpg") != nullptr) urls["poster"] = ContentPath(meta.id, "poster.jpg");
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

std::string VideoJson(const metadata::VideoMetadata& meta) { return VideoObject(meta).dump(); }

std::string VideoListJson(const std::vector<metadata::VideoMetadata>& videos) {
  nlohmann::json list = nlohmann::json::array();
  for (const metadata::VideoMetadata& meta : videos) list.push_back(VideoObject(meta));
  return nlohmann::json{{"videos", std::move(list)}}.dump();
}

}  // namespace dvs::web
