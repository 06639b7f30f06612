#include "admin/host_port.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace dvs::admin {
namespace {

constexpr int kMaxPort = 65535;
constexpr size_t kMaxHostLength = 253;  // the longest DNS name

absl::Status BadAddress(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("'", common::AsAbsl(text), "' is not HOST:PORT (", common::AsAbsl(why), ")"));
}

bool IsHostNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

bool IsIpv6Literal(std::string_view host) {
  in6_addr address;
  return inet_pton(AF_INET6, std::string(host).c_str(), &address) == 1;
}

// Splits at the last ':' outside brackets; a bare IPv6 literal ("::1:80")
// is ambiguous and refused.
absl::StatusOr<HostPort> SplitHost(std::string_view text, std::string_view* port_text) {
  HostPort result;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return BadAddress(text, "expected [IPV6]:PORT");
    }
    result.host = std::string(text.substr(1, close - 1));
    if (!IsIpv6Literal(result.host)) return BadAddress(text, "not an IPv6 address in brackets");
    *port_text = text.substr(close + 2);
    return result;
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return BadAddress(text, "no port");
  result.host = std::string(text.substr(0, colon));
  if (result.host.empty()) return BadAddress(text, "no host");
  if (result.host.size() > kMaxHostLength ||
      !std::all_of(result.host.begin(), result.host.end(), IsHostNameChar)) {
    return BadAddress(text, "the host may hold only letters, digits, '.', '-' and '_'");
  }
  *port_text = text.substr(colon + 1);
  return result;
}

}  // namespace

absl::StatusOr<HostPort> ParseHostPort(std::string_view text, bool allow_port_zero) {
  std::string_view port_text;
  absl::StatusOr<HostPort> result = SplitHost(text, &port_text);
  if (!result.ok()) return result.status();
  int port = -1;
  auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  bool digits_only =
      !port_text.empty() && port_text.size() <= 5 &&
      std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits_only || error != std::errc() || end != port_text.data() + port_text.size() ||
      port > kMaxPort || (port == 0 && !allow_port_zero)) {
    return BadAddress(text,
                      allow_port_zero ? "the port must be 0-65535" : "the port must be 1-65535");
  }
  result->port = port;
  return result;
}

std::string JoinHostPort(std::string_view host, int port) {
  bool bare_ipv6 = host.find(':') != std::string_view::npos && !host.starts_with('[');
  if (bare_ipv6) return absl::StrCat("[", common::AsAbsl(host), "]:", port);
  return absl::StrCat(common::AsAbsl(host), ":", port);
}

}  // namespace dvs::admin
