#include "content/s3/s3_location.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"

namespace dvs::content::s3 {
namespace {

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

absl::Status Invalid(std::string_view url, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "S3 location \"", common::AsAbsl(url), "\": ", common::AsAbsl(why),
      " (expected http[s]://HOST[:PORT]/BUCKET[/PREFIX], e.g. https://s3.example.com/videos)"));
}

}  // namespace

std::string UriEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(c);
    } else {
      auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    }
  }
  return out;
}

std::string CanonicalQuery(QueryParams params) {
  for (auto& [name, value] : params) {
    name = UriEncode(name, false);
    value = UriEncode(value, false);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    absl::StrAppend(&out, name, "=", value);
  }
  return out;
}

absl::StatusOr<S3Location> S3Location::Parse(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return Invalid(url, "no http:// or https://");
  std::string_view scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https")
    return Invalid(url, "the scheme must be http or https");
  std::string_view rest = url.substr(scheme_end + 3);
  size_t host_end = rest.find('/');
  std::string_view host = rest.substr(0, host_end);
  if (host.empty() || host.find_first_of("@?#") != std::string_view::npos) {
    return Invalid(url, "no host, or a host with user, query or fragment parts");
  }
  std::string_view path = host_end == std::string_view::npos ? "" : rest.substr(host_end + 1);
  while (path.ends_with('/')) path.remove_suffix(1);
  std::vector<std::string> segments = absl::StrSplit(common::AsAbsl(path), '/');
  if (path.empty()) return Invalid(url, "no bucket");
  for (const std::string& segment : segments) {
    if (segment.empty() || segment == "." || segment == "..") {
      return Invalid(url, "empty, \".\" or \"..\" path segment");
    }
    if (std::any_of(segment.begin(), segment.end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x21 || c == '?' || c == '#' || c == '%';
        })) {
      return Invalid(url, "a space, control character, '%', '?' or '#' in the path");
    }
  }
  S3Location location;
  location.endpoint = absl::StrCat(common::AsAbsl(scheme), "://", common::AsAbsl(host));
  location.bucket = segments.front();
  for (size_t i = 1; i < segments.size(); ++i) absl::StrAppend(&location.prefix, segments[i], "/");
  return location;
}

std::string S3Location::KeyOf(std::string_view folder, std::string_view filename) const {
  return absl::StrCat(prefix, common::AsAbsl(folder), "/", common::AsAbsl(filename));
}

std::string S3Location::FolderPrefix(std::string_view folder) const {
  return absl::StrCat(prefix, common::AsAbsl(folder), "/");
}

std::string S3Location::Url(std::string_view key, const QueryParams& query) const {
  std::string url = absl::StrCat(endpoint, "/", UriEncode(bucket, false));
  if (!key.empty()) absl::StrAppend(&url, "/", UriEncode(key, true));
  if (!query.empty()) absl::StrAppend(&url, "?", CanonicalQuery(query));
  return url;
}

std::string S3Location::Describe() const {
  std::string out = absl::StrCat(endpoint, "/", bucket);
  if (!prefix.empty()) absl::StrAppend(&out, "/", prefix.substr(0, prefix.size() - 1));
  return out;
}

}  // namespace dvs::content::s3
