#include "access/playback_signer.h"

#include <sodium.h>

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "access/sodium.h"
#include "common/status.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace dvs::access {
namespace {

constexpr std::string_view kSecretKind = "secret";
constexpr std::string_view kSecretKey = "playback";
constexpr size_t kSignatureBytes = crypto_auth_hmacsha256_BYTES;

// The signed message: the parts joined by NUL, which none of them can hold
// (ids and generations are names, the expiry is digits).
std::string Message(std::string_view id, std::string_view generation, int64_t expires_at_ms) {
  const absl::string_view separator("\0", 1);
  return absl::StrCat(common::AsAbsl(id), separator, common::AsAbsl(generation), separator,
                      expires_at_ms);
}

std::string ToHex(const unsigned char* bytes, size_t size) {
  std::string hex(size * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes, size);
  hex.pop_back();
  return hex;
}

// Exactly `size` bytes from 2 * size hex digits, or false.
bool FromHex(std::string_view hex, unsigned char* bytes, size_t size) {
  size_t decoded = 0;
  return hex.size() == size * 2 &&
         sodium_hex2bin(bytes, size, hex.data(), hex.size(), nullptr, &decoded, nullptr) == 0 &&
         decoded == size;
}

absl::StatusOr<PlaybackSigner::Key> KeyFromRecord(std::string_view value) {
  nlohmann::json json = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  PlaybackSigner::Key key;
  if (!json.is_object() || !json["key"].is_string() ||
      !FromHex(json["key"].get<std::string>(), key.data(), key.size())) {
    return absl::DataLossError("the stored playback signing secret is malformed");
  }
  return key;
}

}  // namespace

PlaybackSigner::PlaybackSigner(const Key& key, std::function<int64_t()> now_ms)
    : key_(key), now_ms_(std::move(now_ms)) {
  EnsureSodium();
}

std::string PlaybackSigner::Sign(std::string_view id, std::string_view generation,
                                 int64_t expires_at_ms) const {
  std::string message = Message(id, generation, expires_at_ms);
  unsigned char mac[kSignatureBytes];
  crypto_auth_hmacsha256(mac, reinterpret_cast<const unsigned char*>(message.data()),
                         message.size(), key_.data());
  return ToHex(mac, sizeof mac);
}

absl::Status PlaybackSigner::Verify(std::string_view id, std::string_view generation,
                                    std::string_view expires_at_ms,
                                    std::string_view signature) const {
  int64_t expires = 0;
  unsigned char mac[kSignatureBytes];
  // The expiry must be written as Sign's caller wrote it: plain digits.
  bool well_formed = absl::SimpleAtoi(common::AsAbsl(expires_at_ms), &expires) && expires > 0 &&
                     absl::StrCat(expires) == common::AsAbsl(expires_at_ms) &&
                     FromHex(signature, mac, sizeof mac);
  std::string message = Message(id, generation, expires);
  // crypto_auth_hmacsha256_verify compares in constant time.
  if (!well_formed ||
      crypto_auth_hmacsha256_verify(mac, reinterpret_cast<const unsigned char*>(message.data()),
                                    message.size(), key_.data()) != 0) {
    return absl::PermissionDeniedError("this playback URL is not valid (its signature is wrong)");
  }
  if (now_ms_() >= expires) return absl::PermissionDeniedError("this playback URL has expired");
  return absl::OkStatus();
}

PlaybackSigner::Key RandomPlaybackKey() {
  EnsureSodium();
  PlaybackSigner::Key key;
  randombytes_buf(key.data(), key.size());
  return key;
}

absl::StatusOr<PlaybackSigner::Key> LoadOrCreatePlaybackKey(metadata::SmallRecordStore& store) {
  EnsureSodium();
  constexpr int kTries = 3;
  for (int attempt = 0; attempt < kTries; ++attempt) {
    absl::StatusOr<metadata::SmallRecord> stored = store.ReadSmall(kSecretKind, kSecretKey);
    if (stored.ok()) return KeyFromRecord(stored->value);
    if (!absl::IsNotFound(stored.status())) return stored.status();
    PlaybackSigner::Key key = RandomPlaybackKey();
    std::string value = nlohmann::json{{"key", ToHex(key.data(), key.size())}}.dump();
    absl::StatusOr<int64_t> written = store.WriteSmall(kSecretKind, kSecretKey, value, 0);
    if (written.ok()) {
      spdlog::info("made the secret that signs playback URLs (stored in the metadata backend)");
      return key;
    }
    // Another server wrote it first: read its key on the next turn.
    if (!absl::IsAborted(written.status())) return written.status();
  }
  return absl::AbortedError("cannot agree on the playback signing secret; try again");
}

}  // namespace dvs::access
