#include "web/tus_protocol.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/strings.h"

namespace dvs::web::tus {
namespace {

size_t DigestSize(Algorithm algorithm) { return algorithm == Algorithm::kSha1 ? 20 : 32; }

}  // namespace

absl::StatusOr<uint64_t> ParseCount(std::optional<std::string_view> value, std::string_view name) {
  if (!value.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("the ", common::AsAbsl(name), " header is missing"));
  }
  uint64_t count = 0;
  constexpr size_t kMaxDigits = 19;  // below 2^63
  bool digits_only = !value->empty() && value->size() <= kMaxDigits &&
                     value->find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits_only || !absl::SimpleAtoi(common::AsAbsl(*value), &count)) {
    return absl::InvalidArgumentError(
        absl::StrCat(common::AsAbsl(name), " must be a whole number of bytes"));
  }
  return count;
}

absl::StatusOr<std::map<std::string, std::string>> ParseMetadata(std::string_view header) {
  std::map<std::string, std::string> pairs;
  if (absl::StripAsciiWhitespace(common::AsAbsl(header)).empty()) return pairs;
  for (absl::string_view item : absl::StrSplit(common::AsAbsl(header), ',')) {
    item = absl::StripAsciiWhitespace(item);
    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(item, absl::MaxSplits(' ', 1));
    std::string key(parts.first);
    std::string value;
    if (key.empty() || key.find_first_of(" \t") != std::string::npos) {
      return absl::InvalidArgumentError("Upload-Metadata has an empty or malformed key");
    }
    if (!absl::Base64Unescape(absl::StripAsciiWhitespace(parts.second), &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the Upload-Metadata value of \"", key, "\" is not base64"));
    }
    if (!pairs.emplace(key, std::move(value)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("Upload-Metadata carries \"", key, "\" twice"));
    }
  }
  return pairs;
}

absl::StatusOr<Checksum> ParseChecksum(std::string_view header) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(absl::StripAsciiWhitespace(common::AsAbsl(header)), absl::MaxSplits(' ', 1));
  Checksum checksum;
  if (parts.first == "sha1") {
    checksum.algorithm = Algorithm::kSha1;
  } else if (parts.first == "sha256") {
    checksum.algorithm = Algorithm::kSha256;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "Upload-Checksum: the algorithm must be one of ", common::AsAbsl(kChecksumAlgorithms)));
  }
  if (!absl::Base64Unescape(absl::StripAsciiWhitespace(parts.second), &checksum.digest) ||
      checksum.digest.size() != DigestSize(checksum.algorithm)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Upload-Checksum: the ", parts.first, " digest must be ",
        DigestSize(checksum.algorithm), " bytes in base64"));
  }
  return checksum;
}

struct ChunkDigest::Context {
  EVP_MD_CTX* ctx = nullptr;
};

// OpenSSL fails here only when out of memory; like an allocation failure,
// that ends the process.
ChunkDigest::ChunkDigest(Algorithm algorithm) : context_(std::make_unique<Context>()) {
  context_->ctx = EVP_MD_CTX_new();
  const EVP_MD* md = algorithm == Algorithm::kSha1 ? EVP_sha1() : EVP_sha256();
  if (context_->ctx == nullptr || EVP_DigestInit_ex(context_->ctx, md, nullptr) != 1) {
    std::abort();
  }
}

ChunkDigest::~ChunkDigest() { EVP_MD_CTX_free(context_->ctx); }

void ChunkDigest::Update(std::string_view bytes) {
  if (EVP_DigestUpdate(context_->ctx, bytes.data(), bytes.size()) != 1) std::abort();
}

std::string ChunkDigest::Final() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(context_->ctx, digest, &size) != 1) std::abort();
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::string HttpDate(int64_t unix_ms) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

}  // namespace dvs::web::tus
