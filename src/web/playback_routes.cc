#include "web/playback_routes.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"
#include "web/pages.h"
#include "web/visibility.h"

namespace dvs::web {
namespace {

using Json = nlohmann::json;

// The route's parameters: /play/:id/:expires/:sig/:file.
enum PlayParam { kId = 0, kExpires = 1, kSignature = 2, kFile = 3 };

absl::StatusOr<Json> JsonObject(std::string_view body, bool empty_allowed) {
  if (body.empty() && empty_allowed) return Json::object();
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return absl::InvalidArgumentError("the body must be a JSON object");
  return json;
}

absl::StatusOr<metadata::Visibility> VisibilityOfBody(std::string_view body) {
  ASSIGN_OR_RETURN(Json json, JsonObject(body, false));
  if (json.size() != 1 || !json.contains("visibility") || !json["visibility"].is_string()) {
    return absl::InvalidArgumentError(
        "send {\"visibility\": \"public\" | \"unlisted\" | \"private\"}: only the visibility can "
        "be changed");
  }
  return ParseVisibility(json["visibility"].get<std::string>());
}

absl::StatusOr<int64_t> TtlOfBody(std::string_view body) {
  ASSIGN_OR_RETURN(Json json, JsonObject(body, true));
  if (!json.contains("ttl_s")) return PlaybackRoutes::kDefaultTtlS;
  const Json& ttl = json["ttl_s"];
  if (!ttl.is_number_integer() || ttl.get<int64_t>() < 1 ||
      ttl.get<int64_t>() > PlaybackRoutes::kMaxTtlS) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ttl_s must be a whole number of seconds from 1 to ", PlaybackRoutes::kMaxTtlS));
  }
  return ttl.get<int64_t>();
}

Json OrNull(const std::string& url) { return url.empty() ? Json(nullptr) : Json(url); }

}  // namespace

SignedPlayback SignPlayback(const access::PlaybackSigner& signer,
                            const metadata::VideoMetadata& meta, int64_t ttl_s) {
  SignedPlayback urls;
  urls.expires_at_ms = signer.NowMs() + ttl_s * 1000;
  // Ids and file names are validated names and the signature hex: no escaping.
  std::string prefix = absl::StrCat("/play/", meta.id, "/", urls.expires_at_ms, "/",
                                    signer.Sign(meta.id, meta.generation, urls.expires_at_ms), "/");
  urls.dash = absl::StrCat(prefix, "manifest.mpd");
  if (meta.hls) urls.hls = absl::StrCat(prefix, "master.m3u8");
  if (!meta.poster.empty()) urls.poster = absl::StrCat(prefix, meta.poster);
  return urls;
}

PlaybackRoutes::PlaybackRoutes(ContentStores stores, AccessGate& gate,
                               const access::PlaybackSigner& signer,
                               std::function<int64_t()> now_ms, ProgressOf progress_of)
    : stores_(stores),
      gate_(gate),
      signer_(signer),
      now_ms_(std::move(now_ms)),
      progress_of_(std::move(progress_of)) {}

void PlaybackRoutes::Register(http::Router& router) {
  router.Add("PATCH", "/api/videos/:id", [this](http::Request& r) { return PatchVideo(r); });
  router.Add("POST", "/api/videos/:id/playback", [this](http::Request& r) { return Playback(r); });
  router.Add(
      "GET", "/play/:id/:expires/:sig/:file", [this](http::Request& r) { return Play(r); },
      [this](http::Request& r) { return PlayAtHand(r); });
}

http::Response PlaybackRoutes::WatchPage(const metadata::VideoMetadata& meta,
                                         const access::Principal& who) {
  WatchOptions watch;
  watch.can_edit = gate_.Check(who, access::Action::kEditVideo, meta.owner).ok();
  const bool signed_urls = meta.visibility == metadata::Visibility::kPrivate;
  if (signed_urls) {
    SignedPlayback urls = SignPlayback(signer_, meta, kPageTtlS);
    watch.dash = std::move(urls.dash);
    watch.hls = std::move(urls.hls);
    watch.poster = std::move(urls.poster);
  }
  http::Response response = http::Response::Html(200, VideoPage(meta, progress_of_(meta), watch));
  response.headers.Set("Cache-Control", signed_urls ? "private, no-store" : "private, no-cache");
  return response;
}

absl::StatusOr<metadata::VideoMetadata> PlaybackRoutes::ReadSeen(const http::Request& request,
                                                                 const access::Principal& who) {
  const std::string& id = request.params.at(0);
  RETURN_IF_ERROR(common::ValidateName(id, "video id"));
  absl::StatusOr<metadata::VideoMetadata> meta = stores_.metadata.Read(id);
  if (absl::IsNotFound(meta.status()) || (meta.ok() && !MaySee(who, *meta))) {
    return NoSuchVideo(id);
  }
  return meta;
}

// Compare-and-set: a concurrent write (the video's processing) is re-read
// and the change applied again.
http::Response PlaybackRoutes::PatchVideo(http::Request& request) {
  absl::StatusOr<access::Principal> who = gate_.Identify(request);
  if (!who.ok()) return AccessGate::Refusal(request, who.status());
  if (who->anonymous()) {
    return AccessGate::Refusal(request, gate_.Check(*who, access::Action::kEditVideo));
  }
  absl::StatusOr<metadata::Visibility> visibility = VisibilityOfBody(request.body);
  if (!visibility.ok()) return http::Response::Error(request, visibility.status());
  constexpr int kTries = 5;
  absl::StatusOr<int64_t> updated = absl::AbortedError("the video kept changing; try again");
  for (int attempt = 0; attempt < kTries && absl::IsAborted(updated.status()); ++attempt) {
    absl::StatusOr<metadata::VideoMetadata> meta = ReadSeen(request, *who);
    if (!meta.ok()) return http::Response::Error(request, meta.status());
    absl::Status allowed = gate_.Check(*who, access::Action::kEditVideo, meta->owner);
    if (!allowed.ok()) return AccessGate::Refusal(request, allowed);
    if (meta->visibility != *visibility) {
      meta->visibility = *visibility;
      meta->updated_at_ms = now_ms_();
      updated = stores_.metadata.Update(*meta);
      if (updated.ok()) meta->revision = *updated;
    } else {
      updated = meta->revision;
    }
    if (updated.ok()) {
      spdlog::info("video {} is now {} (by {})", meta->id,
                   metadata::VisibilityName(meta->visibility), who->user);
      return http::Response::Json(200, VideoJson(*meta, progress_of_(*meta), nullptr));
    }
  }
  return http::Response::Error(request, updated.status());
}

http::Response PlaybackRoutes::Playback(http::Request& request) {
  absl::StatusOr<access::Principal> who = gate_.Identify(request);
  if (!who.ok()) return AccessGate::Refusal(request, who.status());
  if (who->anonymous()) {
    return AccessGate::Refusal(request, gate_.Check(*who, access::Action::kEditVideo));
  }
  absl::StatusOr<int64_t> ttl_s = TtlOfBody(request.body);
  if (!ttl_s.ok()) return http::Response::Error(request, ttl_s.status());
  absl::StatusOr<metadata::VideoMetadata> meta = ReadSeen(request, *who);
  if (!meta.ok()) return http::Response::Error(request, meta.status());
  if (!access::MaySeeHidden(*who, meta->owner)) {
    return AccessGate::Refusal(
        request, absl::PermissionDeniedError(
                     "only the video's owner or an administrator gets signed playback URLs"));
  }
  SignedPlayback urls = SignPlayback(signer_, *meta, *ttl_s);
  http::Response response = http::Response::Json(200, Json{{"dash", urls.dash},
                                                           {"hls", OrNull(urls.hls)},
                                                           {"poster", OrNull(urls.poster)},
                                                           {"expires_at_ms", urls.expires_at_ms}}
                                                          .dump());
  response.headers.Set("Cache-Control", "no-store");
  return response;
}

absl::Status PlaybackRoutes::CheckSignature(const http::Request& request,
                                            const metadata::VideoMetadata& meta) const {
  return signer_.Verify(meta.id, meta.generation, request.params.at(kExpires),
                        request.params.at(kSignature));
}

// A URL for a video that is not there is refused like a forged one: the
// answer must not tell whether a private video exists.
http::Response PlaybackRoutes::Play(http::Request& request) {
  const std::string& id = request.params.at(kId);
  if (absl::Status valid = common::ValidateName(id, "video id"); !valid.ok()) {
    return http::Response::Error(request, valid);
  }
  if (stores_.metadata.ReadFromMemory(id) == nullptr &&
      absl::IsNotFound(stores_.metadata.Read(id).status())) {
    return http::Response::Error(request,
                                 absl::PermissionDeniedError("this playback URL is not valid"));
  }
  return ServeContent(request, id, request.params.at(kFile), stores_,
                      [this, &request](const metadata::VideoMetadata& meta) {
                        return CheckSignature(request, meta);
                      });
}

std::optional<http::Response> PlaybackRoutes::PlayAtHand(http::Request& request) {
  return ServeContentAtHand(request, request.params.at(kId), request.params.at(kFile), stores_,
                            [this, &request](const metadata::VideoMetadata& meta) {
                              return CheckSignature(request, meta);
                            });
}

}  // namespace dvs::web
