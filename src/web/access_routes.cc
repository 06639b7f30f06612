#include "web/access_routes.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"
#include "web/pages.h"

namespace dvs::web {
namespace {

using Json = nlohmann::json;

// The fields of an application/x-www-form-urlencoded body.
std::map<std::string, std::string> FormFields(std::string_view body) {
  std::map<std::string, std::string> fields;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    std::string_view pair =
        body.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    size_t equals = pair.find('=');
    if (equals != std::string_view::npos) {
      fields.emplace(http::PercentDecode(pair.substr(0, equals), true),
                     http::PercentDecode(pair.substr(equals + 1), true));
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return fields;
}

std::string SessionCookie(std::string_view value, int64_t max_age_s, bool secure) {
  return absl::StrCat(access::Accounts::kSessionCookie, "=", common::AsAbsl(value),
                      "; Path=/; Max-Age=", max_age_s, "; HttpOnly; SameSite=Lax",
                      secure ? "; Secure" : "");
}

http::Response LoginForm(int status, std::string_view error, std::string_view user,
                         std::string_view next) {
  http::Response response = http::Response::Html(status, LoginPage(error, user, next));
  response.headers.Set("Cache-Control", "no-store");
  return response;
}

http::Response PostLogin(http::Request& request, AccessGate& gate) {
  std::map<std::string, std::string> form = FormFields(request.body);
  const std::string& user = form["user"];
  const std::string next = access::SafeLocalPath(form["next"]);
  if (std::optional<int64_t> wait =
          gate.accounts().LoginRetryAfterS(user, request.remote_address)) {
    http::Response response = LoginForm(
        429, absl::StrCat("Too many failed logins. Try again in ", *wait, " s."), user, next);
    response.headers.Set("Retry-After", absl::StrCat(*wait));
    return response;
  }
  absl::StatusOr<access::IssuedToken> session =
      gate.accounts().Login(user, form["password"], request.remote_address);
  if (session.status().code() == absl::StatusCode::kUnauthenticated) {
    return LoginForm(401, "Wrong user name or password.", user, next);
  }
  if (!session.ok()) return http::Response::Error(request, session.status());
  http::Response response = http::Response::Redirect(303, next);
  response.headers.Set("Set-Cookie", SessionCookie(session->secret, access::Accounts::kSessionTtlS,
                                                   gate.options().secure_cookies));
  response.headers.Set("Cache-Control", "no-store");
  return response;
}

http::Response PostLogout(http::Request& request, AccessGate& gate) {
  if (std::optional<std::string_view> cookie = request.headers.Get("Cookie")) {
    if (auto secret = access::CookieValue(*cookie, access::Accounts::kSessionCookie)) {
      gate.accounts().Logout(*secret);
    }
  }
  http::Response response = http::Response::Redirect(303, "/");
  response.headers.Set("Set-Cookie", SessionCookie("", 0, gate.options().secure_cookies));
  return response;
}

Json TokenJson(const access::Token& token) {
  return Json{{"id", token.id},
              {"scopes", access::ScopeNames(token.scopes)},
              {"kind", access::TokenKindName(token.kind)},
              {"label", token.label},
              {"created_at_ms", token.created_at_ms},
              {"expires_at_ms", token.expires_at_ms}};
}

absl::StatusOr<Json> JsonBody(const http::Request& request) {
  Json body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) return absl::InvalidArgumentError("the body must be a JSON object");
  return body;
}

// Basic or a session: a password-holder's act. A token cannot mint tokens.
http::Response PostToken(http::Request& request, AccessGate& gate) {
  absl::StatusOr<access::Principal> who = gate.Authorize(request, access::Action::kManageTokens);
  if (who.ok() && who->via == access::Via::kToken) {
    who = absl::PermissionDeniedError(
        "make tokens with a password (HTTP Basic) or a session, not with a token");
  }
  if (!who.ok()) return AccessGate::Refusal(request, who.status());
  absl::StatusOr<Json> body = JsonBody(request);
  if (!body.ok()) return http::Response::Error(request, body.status());
  std::vector<std::string> scopes;
  const Json& words = (*body)["scopes"];
  bool scopes_ok = words.is_array();
  for (const Json& word : words.is_array() ? words : Json::array()) {
    if (!word.is_string()) scopes_ok = false;
    if (word.is_string()) scopes.push_back(word.get<std::string>());
  }
  const Json& ttl = (*body)["ttl_s"];
  const Json& label = (*body)["label"];
  if (!scopes_ok || !ttl.is_number_integer() || !(label.is_null() || label.is_string())) {
    return http::Response::Error(
        request, absl::InvalidArgumentError(
                     "expected {\"scopes\": [\"upload\", \"delete\", \"admin\"], \"ttl_s\": "
                     "seconds, \"label\": optional text}"));
  }
  absl::StatusOr<access::IssuedToken> issued = gate.accounts().IssueToken(
      *who, scopes, ttl.get<int64_t>(), label.is_string() ? label.get<std::string>() : "");
  if (!issued.ok()) return http::Response::Error(request, issued.status());
  Json answer = TokenJson(issued->token);
  answer["token"] = issued->secret;
  http::Response response = http::Response::Json(201, answer.dump());
  response.headers.Set("Cache-Control", "no-store");
  return response;
}

http::Response ListTokens(http::Request& request, AccessGate& gate) {
  absl::StatusOr<access::Principal> who = gate.Authorize(request, access::Action::kManageTokens);
  if (!who.ok()) return AccessGate::Refusal(request, who.status());
  absl::StatusOr<std::vector<access::Token>> tokens = gate.accounts().tokens().ListFor(who->user);
  if (!tokens.ok()) return http::Response::Error(request, tokens.status());
  Json list = Json::array();
  for (const access::Token& token : *tokens) list.push_back(TokenJson(token));
  return http::Response::Json(200, Json{{"tokens", std::move(list)}}.dump());
}

http::Response DeleteToken(http::Request& request, AccessGate& gate) {
  absl::StatusOr<access::Principal> who = gate.Authorize(request, access::Action::kManageTokens);
  if (!who.ok()) return AccessGate::Refusal(request, who.status());
  // Administrators may revoke anyone's token; others only their own.
  bool any = gate.Check(*who, access::Action::kManageUsers).ok();
  absl::Status revoked =
      gate.accounts().tokens().Revoke(request.params.at(0), any ? "" : who->user);
  if (!revoked.ok()) return http::Response::Error(request, revoked);
  return http::Response::Text(204, "");
}

Json UserJson(const access::User& user) {
  return Json{{"name", user.name}, {"admin", user.admin}, {"created_at_ms", user.created_at_ms}};
}

http::Response PostUser(http::Request& request, AccessGate& gate) {
  absl::StatusOr<access::Principal> who = gate.Authorize(request, access::Action::kManageUsers);
  if (!who.ok()) return AccessGate::Refusal(request, who.status());
  absl::StatusOr<Json> body = JsonBody(request);
  if (!body.ok()) return http::Response::Error(request, body.status());
  const Json& name = (*body)["name"];
  const Json& password = (*body)["password"];
  const Json& admin = (*body)["admin"];
  if (!name.is_string() || !password.is_string() || !(admin.is_null() || admin.is_boolean())) {
    return http::Response::Error(
        request, absl::InvalidArgumentError(
                     "expected {\"name\": text, \"password\": text, \"admin\": true/false}"));
  }
  absl::StatusOr<access::User> user =
      gate.accounts().users().Create(name.get<std::string>(), password.get<std::string>(),
                                     admin.is_boolean() && admin.get<bool>());
  if (!user.ok()) return http::Response::Error(request, user.status());
  return http::Response::Json(201, UserJson(*user).dump());
}

http::Response ListUsers(http::Request& request, AccessGate& gate) {
  absl::StatusOr<access::Principal> who = gate.Authorize(request, access::Action::kManageUsers);
  if (!who.ok()) return AccessGate::Refusal(request, who.status());
  absl::StatusOr<std::vector<access::User>> users = gate.accounts().users().List();
  if (!users.ok()) return http::Response::Error(request, users.status());
  Json list = Json::array();
  for (const access::User& user : *users) list.push_back(UserJson(user));
  return http::Response::Json(200, Json{{"users", std::move(list)}}.dump());
}

// The fields of a PATCH /api/users/:name body; InvalidArgument for others.
absl::StatusOr<access::UserChange> ParseUserChange(const Json& body) {
  access::UserChange change;
  bool ok = true;
  for (const auto& [key, value] : body.items()) {
    if ((key == "password" || key == "current_password") && value.is_string()) {
      (key == "password" ? change.password : change.current_password) = value.get<std::string>();
    } else if (key == "admin" && value.is_boolean()) {
      change.admin = value.get<bool>();
    } else {
      ok = false;
    }
  }
  if (!ok || (!change.password && !change.admin)) {
    return absl::InvalidArgumentError(
        "expected {\"password\": text, \"current_password\": text (for your own), "
        "\"admin\": true/false}, with password or admin");
  }
  return change;
}

http::Response PatchUser(http::Request& request, AccessGate& gate) {
  absl::StatusOr<access::Principal> who = gate.Identify(request);
  absl::Status allowed = who.ok() && who->anonymous()
                             ? absl::UnauthenticatedError("log in to change an account")
                             : who.status();
  if (!allowed.ok()) return AccessGate::Refusal(request, allowed);
  absl::StatusOr<Json> body = JsonBody(request);
  if (!body.ok()) return http::Response::Error(request, body.status());
  absl::StatusOr<access::UserChange> change = ParseUserChange(*body);
  if (!change.ok()) return http::Response::Error(request, change.status());
  absl::StatusOr<access::User> user =
      gate.accounts().ChangeUser(*who, request.params.at(0), *change, request.remote_address);
  if (!user.ok()) return http::Response::Error(request, user.status());
  return http::Response::Json(200, UserJson(*user).dump());
}

http::Response DeleteUser(http::Request& request, AccessGate& gate) {
  absl::StatusOr<access::Principal> who = gate.Authorize(request, access::Action::kManageUsers);
  if (!who.ok()) return AccessGate::Refusal(request, who.status());
  absl::Status deleted = gate.accounts().DeleteUser(*who, request.params.at(0));
  if (!deleted.ok()) return http::Response::Error(request, deleted);
  return http::Response::Text(204, "");
}

http::Response AccountForm(int status, std::string_view user, std::string_view error,
                           std::string_view notice = {}) {
  http::Response response = http::Response::Html(status, AccountPage(user, error, notice));
  response.headers.Set("Cache-Control", "no-store");
  return response;
}

http::Response ToLogin() { return http::Response::Redirect(303, "/login?next=/account"); }

http::Response GetAccount(http::Request& request, AccessGate& gate) {
  access::Principal who = gate.Viewer(request);
  if (who.anonymous()) return ToLogin();
  const bool changed = request.QueryParam("changed").value_or("") == "1";
  return AccountForm(200, who.user, "",
                     changed ? "Your password was changed; your other sessions ended." : "");
}

// The account page's form: the same change as PATCH /api/users/:name.
http::Response PostPassword(http::Request& request, AccessGate& gate) {
  access::Principal who = gate.Viewer(request);
  if (who.anonymous()) return ToLogin();
  std::map<std::string, std::string> form = FormFields(request.body);
  if (form["password"] != form["repeat"]) {
    return AccountForm(400, who.user, "The two new passwords differ.");
  }
  absl::StatusOr<access::User> changed = gate.accounts().ChangeUser(
      who, who.user, {.password = form["password"], .current_password = form["current"]},
      request.remote_address);
  if (!changed.ok()) {
    return AccountForm(common::HttpStatusFor(changed.status().code()), who.user,
                       common::AsStd(changed.status().message()));
  }
  return http::Response::Redirect(303, "/account?changed=1");
}

}  // namespace

void RegisterAccessRoutes(http::Router& router, AccessGate& gate) {
  router.Add("GET", "/login", [](http::Request& request) {
    return LoginForm(200, "", "", access::SafeLocalPath(request.QueryParam("next").value_or("")));
  });
  router.Add("POST", "/login",
             [&gate](http::Request& request) { return PostLogin(request, gate); });
  router.Add("POST", "/logout",
             [&gate](http::Request& request) { return PostLogout(request, gate); });
  router.Add("POST", "/api/tokens",
             [&gate](http::Request& request) { return PostToken(request, gate); });
  router.Add("GET", "/api/tokens",
             [&gate](http::Request& request) { return ListTokens(request, gate); });
  router.Add("DELETE", "/api/tokens/:id",
             [&gate](http::Request& request) { return DeleteToken(request, gate); });
  router.Add("POST", "/api/users",
             [&gate](http::Request& request) { return PostUser(request, gate); });
  router.Add("GET", "/account",
             [&gate](http::Request& request) { return GetAccount(request, gate); });
  router.Add("POST", "/account/password",
             [&gate](http::Request& request) { return PostPassword(request, gate); });
  router.Add("GET", "/api/users",
             [&gate](http::Request& request) { return ListUsers(request, gate); });
  router.Add("PATCH", "/api/users/:name",
             [&gate](http::Request& request) { return PatchUser(request, gate); });
  router.Add("DELETE", "/api/users/:name",
             [&gate](http::Request& request) { return DeleteUser(request, gate); });
}

}  // namespace dvs::web
