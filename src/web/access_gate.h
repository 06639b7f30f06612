// AccessGate: where the web app meets src/access. It filters every request
// head before routing (a foreign Host gets 421, a cross-site write 403), and
// tells the routes who is asking and whether the policy lets them.
// Thread-safe: its options are fixed and Accounts is thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "access/accounts.h"
#include "access/http_rules.h"
#include "access/policy.h"
#include "http/message.h"

namespace dvs::web {

struct AccessOptions {
  access::SiteRules site;
  access::PolicyOptions policy;
  bool secure_cookies = false;  // --public-url is https
};

class AccessGate {
 public:
  AccessGate(access::Accounts& accounts, AccessOptions options);

  // For http::ServerOptions::request_filter: never blocks. /healthz and
  // /readyz answer any Host, so that probes by address or name work.
  std::optional<http::Response> Filter(const http::Request& request) const;

  // Who sends the request (see Accounts::Identify); blocks on the backend.
  [[nodiscard]] absl::StatusOr<access::Principal> Identify(const http::Request& request);
  // Identify, with anyone whose credentials fail taken as anonymous (pages).
  access::Principal Viewer(const http::Request& request);
  // OK when the policy allows; Unauthenticated (401) or PermissionDenied
  // (403) with the reason otherwise.
  [[nodiscard]] absl::Status Check(const access::Principal& who, access::Action action,
                                   std::string_view owner = {}) const;

  // Identify, then Check: who asks when they may, else the refusal's status.
  [[nodiscard]] absl::StatusOr<access::Principal> Authorize(const http::Request& request,
                                                            access::Action action);

  // The answer for a failed Identify, Check or Authorize: 401/403 as Response::Error,
  // and 429 with Retry-After while logins are rate-limited.
  static http::Response Refusal(const http::Request& request, const absl::Status& status);

  access::Accounts& accounts() { return accounts_; }
  const AccessOptions& options() const { return options_; }

 private:
  access::Accounts& accounts_;
  const AccessOptions options_;
};

}  // namespace dvs::web
