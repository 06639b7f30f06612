#include "access/accounts.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "access/http_rules.h"
#include "access/password.h"
#include "common/status.h"
#include "common/strings.h"

namespace dvs::access {
namespace {

Principal PrincipalOf(const Token& token) {
  return Principal{.user = token.user,
                   .admin = (token.scopes & kScopeAdmin) != 0,
                   .scopes = token.scopes,
                   .via = token.kind == TokenKind::kSession ? Via::kSession : Via::kToken,
                   .token_id = token.id};
}

}  // namespace

Accounts::Accounts(metadata::SmallRecordStore& store, std::function<int64_t()> now_ms,
                   LoginLimiterOptions limits)
    : users_(store, now_ms), tokens_(store, now_ms), limiter_(limits, now_ms) {}

absl::StatusOr<Principal> Accounts::Identify(const Credentials& credentials) {
  if (credentials.authorization.has_value()) {
    if (std::optional<std::string> bearer = BearerToken(*credentials.authorization)) {
      ASSIGN_OR_RETURN(Token token, tokens_.Verify(*bearer));
      return PrincipalOf(token);
    }
    if (auto basic = BasicCredentials(*credentials.authorization)) {
      return IdentifyByPassword(basic->first, basic->second, credentials.address);
    }
    return absl::UnauthenticatedError("the Authorization header is neither Bearer nor Basic");
  }
  if (credentials.session_cookie.has_value()) {
    absl::StatusOr<Token> token = tokens_.Verify(*credentials.session_cookie);
    if (token.ok() && token->kind == TokenKind::kSession) return PrincipalOf(*token);
    if (!token.ok() && token.status().code() != absl::StatusCode::kUnauthenticated) {
      return token.status();
    }
  }
  return Principal{};
}

absl::StatusOr<Principal> Accounts::IdentifyByPassword(std::string_view user,
                                                       std::string_view password,
                                                       std::string_view address) {
  if (std::optional<int64_t> wait = limiter_.RetryAfterS(user, address)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many failed logins; try again in ", *wait, " s"));
  }
  absl::StatusOr<User> found = users_.Authenticate(user, password);
  if (!found.ok()) {
    if (found.status().code() == absl::StatusCode::kUnauthenticated) {
      limiter_.RecordFailure(user, address);
    }
    return found.status();
  }
  Scopes scopes = ScopesOfUser(found->admin);
  return Principal{
      .user = found->name, .admin = found->admin, .scopes = scopes, .via = Via::kPassword};
}

std::optional<int64_t> Accounts::LoginRetryAfterS(std::string_view user, std::string_view address) {
  return limiter_.RetryAfterS(user, address);
}

absl::StatusOr<IssuedToken> Accounts::Login(std::string_view user, std::string_view password,
                                            std::string_view address) {
  absl::StatusOr<User> found = users_.Authenticate(user, password);
  if (!found.ok()) {
    if (found.status().code() == absl::StatusCode::kUnauthenticated) {
      limiter_.RecordFailure(user, address);
    }
    return found.status();
  }
  return tokens_.Issue(found->name, ScopesOfUser(found->admin), TokenKind::kSession, kSessionTtlS,
                       "browser session");
}

void Accounts::Logout(std::string_view session_secret) {
  absl::StatusOr<Token> token = tokens_.Verify(session_secret);
  if (token.ok()) (void)tokens_.Revoke(token->id);
}

absl::StatusOr<IssuedToken> Accounts::IssueToken(const Principal& who,
                                                 const std::vector<std::string>& scopes,
                                                 int64_t ttl_s, std::string_view label) {
  ASSIGN_OR_RETURN(Scopes wanted, ParseScopes(scopes));
  if (wanted == 0) {
    return absl::InvalidArgumentError("ask for at least one scope: upload, delete, admin");
  }
  if ((wanted & ~ScopesOfUser(who.admin)) != 0) {
    return absl::PermissionDeniedError("only administrators may hold the \"admin\" scope");
  }
  // A token cannot mint one stronger than itself.
  if ((wanted & ~who.scopes) != 0) {
    return absl::PermissionDeniedError("a token may not grant scopes it does not have");
  }
  return tokens_.Issue(who.user, wanted, TokenKind::kApi, ttl_s, label);
}

absl::StatusOr<User> Accounts::ChangeUser(const Principal& who, std::string_view name,
                                          const UserChange& change, std::string_view address) {
  const bool manager = Decide(who, Action::kManageUsers) == Decision::kAllow;
  const bool self = !who.anonymous() && who.user == name;
  if (change.admin.has_value() && !manager) {
    return absl::PermissionDeniedError("only administrators may make or unmake administrators");
  }
  if (change.password.has_value() && !self && !manager) {
    return absl::PermissionDeniedError("only the user or an administrator may set a password");
  }
  std::optional<std::string> hash;
  if (change.password.has_value()) {
    if (self) RETURN_IF_ERROR(CheckCurrentPassword(name, change.current_password, address));
    RETURN_IF_ERROR(ValidatePassword(*change.password));
    ASSIGN_OR_RETURN(hash, HashPassword(*change.password));
  }
  if (change.admin == false) RETURN_IF_ERROR(KeepAnAdministrator(name));
  ASSIGN_OR_RETURN(User user, users_.Update(name, [&](User& user) {
    if (hash.has_value()) user.password_hash = *hash;
    if (change.admin.has_value()) user.admin = *change.admin;
    return absl::OkStatus();
  }));
  if (hash.has_value()) {
    // Every credential but the one this change came with.
    RETURN_IF_ERROR(
        tokens_
            .RevokeWhere(name,
                         [&](const Token& token) { return !(self && token.id == who.token_id); })
            .status());
  } else if (!user.admin) {
    RETURN_IF_ERROR(
        tokens_
            .RevokeWhere(name, [](const Token& token) { return (token.scopes & kScopeAdmin) != 0; })
            .status());
  }
  return user;
}

absl::Status Accounts::CheckCurrentPassword(std::string_view name,
                                            const std::optional<std::string>& current,
                                            std::string_view address) {
  if (!current.has_value()) {
    return absl::InvalidArgumentError("to change your password, give the current one too");
  }
  absl::StatusOr<Principal> checked = IdentifyByPassword(name, *current, address);
  if (checked.status().code() == absl::StatusCode::kUnauthenticated) {
    return absl::PermissionDeniedError("the current password is wrong");
  }
  return checked.status();
}

absl::Status Accounts::DeleteUser(const Principal& who, std::string_view name) {
  if (Decide(who, Action::kManageUsers) != Decision::kAllow) {
    return absl::PermissionDeniedError("only administrators may delete users");
  }
  ASSIGN_OR_RETURN(User user, users_.Read(name));
  if (user.admin) RETURN_IF_ERROR(KeepAnAdministrator(name));
  RETURN_IF_ERROR(users_.Delete(name));
  // After the record: a login that raced the delete cannot mint a new one.
  return tokens_.RevokeWhere(name, [](const Token&) { return true; }).status();
}

absl::Status Accounts::KeepAnAdministrator(std::string_view name) {
  ASSIGN_OR_RETURN(std::vector<User> users, users_.List());
  for (const User& user : users) {
    if (user.admin && user.name != name) return absl::OkStatus();
  }
  return absl::AbortedError(
      absl::StrCat("\"", common::AsAbsl(name), "\" is the last administrator; make another first"));
}

}  // namespace dvs::access
