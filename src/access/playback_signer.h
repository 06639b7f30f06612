// PlaybackSigner: the signed playback URLs of private videos (DESIGN §7a).
// A URL names a video's id, an expiry and an HMAC-SHA256 over the id, the
// video's generation and that expiry, keyed by a server secret that every web
// server shares through the metadata backend (small record "secret"/"playback").
// A URL therefore stops working when it expires, when its video is deleted and
// uploaded again (a new generation), and when any of its parts is changed.
//
// The signature travels in the path (/play/<id>/<expires_ms>/<sig>/<file>),
// so the relative names inside manifests and playlists stay signed.
//
// Verifying never blocks (the key is in memory): fit for the I/O thread.
// Immutable after construction: thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "metadata/small_record_store.h"

namespace dvs::access {

class PlaybackSigner {
 public:
  static constexpr size_t kKeyBytes = 32;
  using Key = std::array<unsigned char, kKeyBytes>;

  // `now_ms` is Unix time in ms (injected for tests).
  PlaybackSigner(const Key& key, std::function<int64_t()> now_ms);

  // The signature of a URL for (id, generation) valid until `expires_at_ms`:
  // 64 lowercase hex digits.
  std::string Sign(std::string_view id, std::string_view generation, int64_t expires_at_ms) const;
  // OK when `signature` is Sign(id, generation, expires_at_ms) and the
  // expiry has not passed; PermissionDenied with the reason otherwise. The
  // signature is compared in constant time.
  [[nodiscard]] absl::Status Verify(std::string_view id, std::string_view generation,
                                    std::string_view expires_at_ms,
                                    std::string_view signature) const;

  int64_t NowMs() const { return now_ms_(); }

 private:
  Key key_;
  std::function<int64_t()> now_ms_;
};

// 32 random bytes (a key of one process alone).
PlaybackSigner::Key RandomPlaybackKey();

// The shared key: read from the store, or made (32 random bytes) and written
// with expected revision 0 when there is none. Of servers starting at once
// one writes; the others lose the compare-and-set and read its key, so every
// server signs alike.
[[nodiscard]] absl::StatusOr<PlaybackSigner::Key> LoadOrCreatePlaybackKey(
    metadata::SmallRecordStore& store);

}  // namespace dvs::access
