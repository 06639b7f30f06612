#include "access/accounts.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "access/http_rules.h"
#include "common/status.h"

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

}  // namespace dvs::access
