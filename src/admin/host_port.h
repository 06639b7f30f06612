// "host:port" addresses as the admin CLI and server take them: parsing, the
// loopback test that keeps the admin port private by default, and joining
// (IPv6 literals in brackets, as gRPC targets want them). Plain functions.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/secrets.h"

namespace dvs::admin {

struct HostPort {
  std::string host;  // an IPv6 literal without its brackets
  int port = 0;
};

// Parses "host:port" or "[ipv6]:port". The host is a DNS name or an IP
// literal; the port is 0..65535 (0 only when `allow_port_zero`, for binding).
// InvalidArgument, naming the text, for anything else.
[[nodiscard]] absl::StatusOr<HostPort> ParseHostPort(std::string_view text,
                                                     bool allow_port_zero = false);

// "host:port", with brackets around an IPv6 literal.
std::string JoinHostPort(std::string_view host, int port);

// The loopback test lives in common (the storage server uses it too).
using common::IsLoopbackHost;

}  // namespace dvs::admin
