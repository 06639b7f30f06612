#include "web/access_gate.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"

namespace dvs::web {
namespace {

bool CarriesBearerToken(const http::Request& request) {
  std::optional<std::string_view> authorization = request.headers.Get("Authorization");
  return authorization && absl::StartsWithIgnoreCase(common::AsAbsl(*authorization), "Bearer ");
}

}  // namespace

AccessGate::AccessGate(access::Accounts& accounts, AccessOptions options)
    : accounts_(accounts), options_(std::move(options)) {}

std::optional<http::Response> AccessGate::Filter(const http::Request& request) const {
  if (request.path == "/healthz" || request.path == "/readyz") return std::nullopt;
  std::string_view host = request.headers.Get("Host").value_or("");
  if (!access::HostAllowed(host, options_.site)) {
    return http::ErrorResponse(request, 421,
                               absl::StrCat("this server does not answer for the host \"",
                                            common::AsAbsl(host), "\" (see --public-url)"));
  }
  // A request that carries a bearer token cannot be forged by another site's
  // form or script; one riding a cookie, or Basic credentials the browser
  // remembered, can.
  if (access::IsStateChanging(request.method) && !CarriesBearerToken(request)) {
    absl::Status same_origin = access::CheckSameOrigin(
        request.headers.Get("Sec-Fetch-Site"), request.headers.Get("Origin"), host, options_.site);
    if (!same_origin.ok()) return http::Response::Error(request, same_origin);
  }
  return std::nullopt;
}

absl::StatusOr<access::Principal> AccessGate::Identify(const http::Request& request) {
  access::Credentials credentials;
  if (std::optional<std::string_view> authorization = request.headers.Get("Authorization")) {
    credentials.authorization = std::string(*authorization);
  }
  if (std::optional<std::string_view> cookie = request.headers.Get("Cookie")) {
    credentials.session_cookie = access::CookieValue(*cookie, access::Accounts::kSessionCookie);
  }
  credentials.address = request.remote_address;
  return accounts_.Identify(credentials);
}

absl::StatusOr<access::Principal> AccessGate::Authorize(const http::Request& request,
                                                        access::Action action) {
  ASSIGN_OR_RETURN(access::Principal who, Identify(request));
  RETURN_IF_ERROR(Check(who, action));
  return who;
}

access::Principal AccessGate::Viewer(const http::Request& request) {
  absl::StatusOr<access::Principal> who = Identify(request);
  return who.ok() ? *who : access::Principal{};
}

absl::Status AccessGate::Check(const access::Principal& who, access::Action action,
                               std::string_view owner) const {
  access::Decision decision = access::Decide(who, action, owner, options_.policy);
  std::string reason = access::DecisionReason(who, action, decision);
  switch (decision) {
    case access::Decision::kAllow:
      return absl::OkStatus();
    case access::Decision::kUnauthenticated:
      return absl::UnauthenticatedError(reason);
    case access::Decision::kForbidden:
      return absl::PermissionDeniedError(reason);
  }
  return absl::PermissionDeniedError(reason);
}

http::Response AccessGate::Refusal(const http::Request& request, const absl::Status& status) {
  http::Response response = http::Response::Error(request, status);
  if (status.code() == absl::StatusCode::kResourceExhausted) {
    response.headers.Set("Retry-After", "60");
  }
  return response;
}

}  // namespace dvs::web
