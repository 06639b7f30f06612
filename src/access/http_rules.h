// The request rules of DESIGN §7a as pure functions over header values, so
// they are tested without a server: which Host names are ours (against DNS
// rebinding), whether a state-changing request comes from our own pages
// (against cross-site request forgery), and how credentials are read from
// the Authorization and Cookie headers. Thread-safe (no state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dvs::access {

// --public-url: where users reach the server (behind a proxy, perhaps).
struct PublicUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // lowercase; an IPv6 address keeps its brackets
  std::string origin;  // scheme://host[:port], the port only when not the default
  bool https() const { return scheme == "https"; }
};

// InvalidArgument unless `url` is http(s)://host[:port][/path].
[[nodiscard]] absl::StatusOr<PublicUrl> ParsePublicUrl(std::string_view url);

struct SiteRules {
  std::string listen_host;  // --host
  std::optional<PublicUrl> public_url;
};

// The name part of a Host header value, lowercase ("[::1]" keeps brackets);
// nullopt when it is malformed.
std::optional<std::string> HostName(std::string_view host_header);

// True when the Host header names this server: localhost, an IP address
// literal (no DNS name can rebind to those), the --host name, or the host of
// --public-url. The port is not compared: the name is what a rebinding
// attack changes. A missing or malformed Host is refused.
bool HostAllowed(std::string_view host_header, const SiteRules& rules);

// POST, PUT, PATCH and DELETE change state; GET, HEAD and OPTIONS do not.
bool IsStateChanging(std::string_view method);

// OK when a browser request comes from our own pages: Sec-Fetch-Site is
// "same-origin" or "none" (typed by the user), or else Origin is
// http://<Host>, https://<Host> when the public URL is https, or the public
// URL's origin. A request with neither header is not from a browser that
// could be tricked, and passes. PermissionDenied with the reason otherwise.
[[nodiscard]] absl::Status CheckSameOrigin(std::optional<std::string_view> sec_fetch_site,
                                           std::optional<std::string_view> origin,
                                           std::string_view host_header, const SiteRules& rules);

// "Bearer X" -> X.
std::optional<std::string> BearerToken(std::string_view authorization);
// "Basic base64(user:password)" -> {user, password}.
std::optional<std::pair<std::string, std::string>> BasicCredentials(std::string_view authorization);
// The value of cookie `name` in a Cookie header ("a=1; dvs_session=x").
std::optional<std::string> CookieValue(std::string_view cookie_header, std::string_view name);

// A redirect target after login: a local path ("/videos/x"), never another
// site ("//evil.example", "https://…", "/\\evil"); "/" otherwise.
std::string SafeLocalPath(std::string_view next);

}  // namespace dvs::access
