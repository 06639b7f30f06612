// Where an S3 content store lives, from the command line's
// `http[s]://ENDPOINT/BUCKET[/PREFIX]`, and how its objects are named and
// addressed: path-style URLs (ENDPOINT/BUCKET/KEY), keys PREFIX + folder + "/"
// + file name, and the canonical %-encoding that the SigV4 signature needs in
// paths and query strings. Plain values and functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace dvs::content::s3 {

// Query parameters, in any order; CanonicalQuery sorts and encodes them.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Every byte but A-Z a-z 0-9 - . _ ~ as %XX (upper-case hex); '/' too unless
// `keep_slash` (object paths keep theirs).
std::string UriEncode(std::string_view text, bool keep_slash);

// "a=1&b=x%2Fy&uploads=": sorted by name, names and values UriEncode'd, and
// every name followed by '=' even when its value is empty (curl's signer
// signs the query string as it is given).
std::string CanonicalQuery(QueryParams params);

struct S3Location {
  std::string endpoint;  // "http://127.0.0.1:9000": scheme, host and port
  std::string bucket;
  std::string prefix;  // "" or "videos/dvs/": always ends with '/'

  // InvalidArgument, saying what is wrong, unless `url` is http:// or
  // https://, has a host and a bucket name, and its prefix is made of
  // non-empty segments without "." or "..".
  [[nodiscard]] static absl::StatusOr<S3Location> Parse(std::string_view url);

  // The object key of a file: PREFIX + folder + "/" + name.
  std::string KeyOf(std::string_view folder, std::string_view filename) const;
  // PREFIX + folder + "/": the prefix every file of the folder starts with.
  std::string FolderPrefix(std::string_view folder) const;
  // ENDPOINT/BUCKET/KEY, or ENDPOINT/BUCKET for an empty key; then "?" and
  // the canonical query when there is one.
  std::string Url(std::string_view key, const QueryParams& query = {}) const;
  // ENDPOINT/BUCKET[/PREFIX] as given.
  std::string Describe() const;
};

}  // namespace dvs::content::s3
