#include "content/s3/s3_presign.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/strings.h"

namespace dvs::content::s3 {
namespace {

constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";

// HMAC-SHA256 of `message` under `key`, as raw bytes.
std::string Hmac(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &length);
  return std::string(reinterpret_cast<const char*>(mac), length);
}

// The key that signs: "AWS4" + secret, narrowed by day, region and service.
std::string SigningKey(const S3Credentials& credentials, std::string_view day) {
  std::string key = Hmac(absl::StrCat("AWS4", credentials.secret_key), day);
  key = Hmac(key, credentials.region);
  key = Hmac(key, "s3");
  return Hmac(key, "aws4_request");
}

}  // namespace

std::string AmzDate(std::chrono::system_clock::time_point time) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  size_t length = std::strftime(text, sizeof(text), "%Y%m%dT%H%M%SZ", &utc);
  return std::string(text, length);
}

Presigned PresignGet(const PresignTarget& target, const S3Credentials& credentials,
                     std::chrono::system_clock::time_point time, std::chrono::seconds expires) {
  const std::string date = AmzDate(time);
  const std::string day = date.substr(0, 8);
  const std::string scope = absl::StrCat(day, "/", credentials.region, "/s3/aws4_request");
  const int64_t valid_s = std::clamp<int64_t>(expires.count(), 1, 7 * 86400);
  const std::string query = CanonicalQuery({
      {"X-Amz-Algorithm", kAlgorithm},
      {"X-Amz-Credential", absl::StrCat(credentials.access_key, "/", scope)},
      {"X-Amz-Date", date},
      {"X-Amz-Expires", absl::StrCat(valid_s)},
      {"X-Amz-SignedHeaders", "host"},
  });
  const std::string canonical_request = absl::StrCat(
      "GET\n", target.path, "\n", query, "\nhost:", target.host, "\n\nhost\nUNSIGNED-PAYLOAD");
  const std::string string_to_sign =
      absl::StrCat(kAlgorithm, "\n", date, "\n", scope, "\n", common::Sha256Hex(canonical_request));
  Presigned presigned;
  presigned.signature = absl::BytesToHexString(Hmac(SigningKey(credentials, day), string_to_sign));
  presigned.url = absl::StrCat(target.origin, target.path, "?", query,
                               "&X-Amz-Signature=", presigned.signature);
  return presigned;
}

PresignTarget TargetOf(const S3Location& location, std::string_view key) {
  PresignTarget target;
  target.origin = location.endpoint;
  std::string_view authority(location.endpoint);
  authority.remove_prefix(authority.find("://") + 3);
  // A default port is not part of the Host header a client sends.
  const bool https = absl::StartsWith(location.endpoint, "https://");
  if (absl::EndsWith(common::AsAbsl(authority), https ? ":443" : ":80")) {
    authority.remove_suffix(https ? 4 : 3);
  }
  target.host = std::string(authority);
  target.path = absl::StrCat("/", UriEncode(location.bucket, false), "/", UriEncode(key, true));
  return target;
}

}  // namespace dvs::content::s3
