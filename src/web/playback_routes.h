// The routes of private and unlisted videos (DESIGN §7a):
//   PATCH /api/videos/:id            {"visibility": …}, by the owner or an admin
//   POST  /api/videos/:id/playback   {"ttl_s": N} -> signed URLs, for the same
//   GET   /play/:id/:expires/:sig/:file  a video's file by a signed URL,
//                                    without any cookie or token
// A private video is 404 to anyone else; a signed URL that is changed,
// expired, of another video or of an older upload of this one is 403.
// Thread-safe: the members are fixed and the services thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "access/playback_signer.h"
#include "http/router.h"
#include "metadata/video_metadata.h"
#include "web/access_gate.h"
#include "web/content_route.h"
#include "web/video_json.h"

namespace dvs::web {

// Where a player fetches a video by signed URLs; hls and poster are empty
// when the video has none.
struct SignedPlayback {
  std::string dash;
  std::string hls;
  std::string poster;
  int64_t expires_at_ms = 0;
};

// Signed URLs of the video, valid for `ttl_s` seconds from now.
SignedPlayback SignPlayback(const access::PlaybackSigner& signer,
                            const metadata::VideoMetadata& meta, int64_t ttl_s);

class PlaybackRoutes {
 public:
  static constexpr int64_t kDefaultTtlS = 3600;
  static constexpr int64_t kMaxTtlS = 24 * 3600;

  PlaybackRoutes(ContentStores stores, AccessGate& gate, const access::PlaybackSigner& signer,
                 std::function<int64_t()> now_ms, ProgressOf progress_of);

  // The routes above; this object must outlive the router.
  void Register(http::Router& router);

  // The page of a video `who` may see: a private one plays by signed URLs
  // (valid kPageTtlS), and its owner gets the visibility form. Never kept by
  // a shared cache (it differs by viewer).
  http::Response WatchPage(const metadata::VideoMetadata& meta, const access::Principal& who);
  static constexpr int64_t kPageTtlS = 6 * 3600;

 private:
  http::Response PatchVideo(http::Request& request);
  http::Response Playback(http::Request& request);
  http::Response Play(http::Request& request);
  std::optional<http::Response> PlayAtHand(http::Request& request);
  // OK when the URL's expiry and signature hold for this record (never blocks).
  absl::Status CheckSignature(const http::Request& request,
                              const metadata::VideoMetadata& meta) const;
  // The video named by :id if `who` may see it, else NoSuchVideo.
  absl::StatusOr<metadata::VideoMetadata> ReadSeen(const http::Request& request,
                                                   const access::Principal& who);

  const ContentStores stores_;
  AccessGate& gate_;
  const access::PlaybackSigner& signer_;
  const std::function<int64_t()> now_ms_;
  const ProgressOf progress_of_;
};

}  // namespace dvs::web
