#include "access/http_rules.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"

namespace dvs::access {
namespace {

std::string Lower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) { return Lower(a) == Lower(b); }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool AllDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool IsIpv4(std::string_view name) {
  int parts = 0;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view part = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!AllDigits(part) || part.size() > 3 || std::stoi(std::string(part)) > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

bool IsBracketedIpv6(std::string_view name) {
  if (name.size() < 4 || name.front() != '[' || name.back() != ']') return false;
  std::string_view inner = name.substr(1, name.size() - 2);
  return std::all_of(inner.begin(), inner.end(),
                     [](unsigned char c) { return std::isxdigit(c) || c == ':' || c == '.'; });
}

// A listen address that names every interface says nothing about our name.
bool IsWildcard(std::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

}  // namespace

absl::StatusOr<PublicUrl> ParsePublicUrl(std::string_view url) {
  PublicUrl parsed;
  std::string_view rest;
  if (url.starts_with("https://")) {
    parsed.scheme = "https";
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    parsed.scheme = "http";
    rest = url.substr(7);
  } else {
    return absl::InvalidArgumentError("--public-url must start with http:// or https://");
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::optional<std::string> host = HostName(authority);
  if (!host.has_value() || authority.find('@') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--public-url has no usable host: ", std::string(url)));
  }
  parsed.host = *host;
  std::string_view port = authority.substr(authority.rfind(']') == std::string_view::npos
                                               ? std::min(authority.find(':'), authority.size())
                                               : authority.rfind(']') + 1);
  if (port.starts_with(":")) port.remove_prefix(1);
  bool default_port = port.empty() || (parsed.https() ? port == "443" : port == "80");
  parsed.origin = absl::StrCat(parsed.scheme, "://", parsed.host,
                               default_port ? "" : absl::StrCat(":", std::string(port)));
  return parsed;
}

std::optional<std::string> HostName(std::string_view host_header) {
  host_header = Trim(host_header);
  if (host_header.empty()) return std::nullopt;
  std::string_view name = host_header;
  std::string_view port;
  if (host_header.front() == '[') {
    size_t close = host_header.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    name = host_header.substr(0, close + 1);
    port = host_header.substr(close + 1);
    if (!port.empty() && port.front() != ':') return std::nullopt;
    if (!IsBracketedIpv6(name)) return std::nullopt;
  } else {
    size_t colon = host_header.find(':');
    if (colon != std::string_view::npos) {
      name = host_header.substr(0, colon);
      port = host_header.substr(colon);
    }
    bool name_ok = !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
      return std::isalnum(c) || c == '-' || c == '.';
    });
    if (!name_ok) return std::nullopt;
  }
  if (!port.empty() && !AllDigits(port.substr(1))) return std::nullopt;
  return Lower(name);
}

bool HostAllowed(std::string_view host_header, const SiteRules& rules) {
  std::optional<std::string> name = HostName(host_header);
  if (!name.has_value()) return false;
  if (*name == "localhost" || IsIpv4(*name) || IsBracketedIpv6(*name)) return true;
  if (!IsWildcard(rules.listen_host) && *name == Lower(rules.listen_host)) return true;
  return rules.public_url.has_value() && *name == rules.public_url->host;
}

bool IsStateChanging(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

absl::Status CheckSameOrigin(std::optional<std::string_view> sec_fetch_site,
                             std::optional<std::string_view> origin, std::string_view host_header,
                             const SiteRules& rules) {
  if (sec_fetch_site.has_value()) {
    std::string site = Lower(Trim(*sec_fetch_site));
    if (site == "same-origin" || site == "none") return absl::OkStatus();
    return absl::PermissionDeniedError(absl::StrCat(
        "cross-site request refused (Sec-Fetch-Site: ", site, "): use this site's own pages"));
  }
  if (!origin.has_value()) return absl::OkStatus();
  std::string from = Lower(Trim(*origin));
  std::string host = Lower(Trim(host_header));
  bool ours =
      from == "http://" + host ||
      (rules.public_url.has_value() && (from == rules.public_url->origin ||
                                        (rules.public_url->https() && from == "https://" + host)));
  if (ours) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("cross-site request refused (Origin: ", from, "): use this site's own pages"));
}

std::optional<std::string> BearerToken(std::string_view authorization) {
  authorization = Trim(authorization);
  if (authorization.size() < 7 || !EqualsIgnoreCase(authorization.substr(0, 7), "bearer ")) {
    return std::nullopt;
  }
  std::string_view token = Trim(authorization.substr(7));
  if (token.empty()) return std::nullopt;
  return std::string(token);
}

std::optional<std::pair<std::string, std::string>> BasicCredentials(
    std::string_view authorization) {
  authorization = Trim(authorization);
  if (authorization.size() < 6 || !EqualsIgnoreCase(authorization.substr(0, 6), "basic ")) {
    return std::nullopt;
  }
  std::string_view encoded = Trim(authorization.substr(6));
  if (encoded.empty() || encoded.size() > 4096) return std::nullopt;
  std::string decoded(encoded.size(), '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()), decoded.size(),
                        encoded.data(), encoded.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    return std::nullopt;
  }
  decoded.resize(length);
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(decoded.substr(0, colon), decoded.substr(colon + 1));
}

std::optional<std::string> CookieValue(std::string_view cookie_header, std::string_view name) {
  size_t start = 0;
  while (start <= cookie_header.size()) {
    size_t end = cookie_header.find(';', start);
    std::string_view pair = Trim(cookie_header.substr(
        start, end == std::string_view::npos ? std::string_view::npos : end - start));
    size_t equals = pair.find('=');
    if (equals != std::string_view::npos && Trim(pair.substr(0, equals)) == name) {
      std::string_view value = Trim(pair.substr(equals + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return std::string(value);
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return std::nullopt;
}

std::string SafeLocalPath(std::string_view next) {
  bool local = next.starts_with("/") && !next.starts_with("//") && !next.starts_with("/\\") &&
               std::none_of(next.begin(), next.end(),
                            [](unsigned char c) { return c < 0x20 || c == 0x7f || c == '\\'; });
  return local ? std::string(next) : "/";
}

}  // namespace dvs::access
