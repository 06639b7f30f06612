// Accounts: the access module's one entry point for the web layer. It turns
// a request's credentials into a Principal (a session cookie, a bearer
// token, or HTTP Basic), logs users in and out, issues API tokens within
// what a user may hold, creates users, and makes the first administrator.
// The rules themselves are in policy.h and http_rules.h.
// Thread-safe (its parts are).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "access/policy.h"
#include "access/rate_limiter.h"
#include "access/tokens.h"
#include "access/users.h"
#include "metadata/small_record_store.h"

namespace dvs::access {

// What a request carries, as header values.
struct Credentials {
  std::optional<std::string> authorization;   // the Authorization header
  std::optional<std::string> session_cookie;  // the dvs_session cookie's value
  std::string address;                        // the client's address
};

// What PATCH /api/users/:name may change; unset fields stay as they are.
struct UserChange {
  std::optional<std::string> password;
  std::optional<std::string> current_password;  // needed to change one's own
  std::optional<bool> admin;
};

class Accounts {
 public:
  static constexpr char kSessionCookie[] = "dvs_session";
  static constexpr int64_t kSessionTtlS = 7 * 24 * 3600;

  Accounts(metadata::SmallRecordStore& store, std::function<int64_t()> now_ms,
           LoginLimiterOptions limits = {});

  // Anonymous when nothing is carried, or only a session cookie that is no
  // longer valid (a stale cookie must not lock a visitor out of public
  // pages). Unauthenticated for a bearer token or Basic credentials that are
  // wrong; ResourceExhausted while Basic logins of this user or address are
  // rate-limited.
  [[nodiscard]] absl::StatusOr<Principal> Identify(const Credentials& credentials);

  // Seconds to wait before the next login attempt, when refused now.
  std::optional<int64_t> LoginRetryAfterS(std::string_view user, std::string_view address);
  // A new session for the user; Unauthenticated (and counted as a failure)
  // when the name or password is wrong.
  [[nodiscard]] absl::StatusOr<IssuedToken> Login(std::string_view user, std::string_view password,
                                                  std::string_view address);
  // Ends the session with this secret (unknown ones are already ended).
  void Logout(std::string_view session_secret);

  // An API token for `who`; PermissionDenied when asking for a scope the
  // user may not hold, InvalidArgument for no scope or a bad ttl/label.
  [[nodiscard]] absl::StatusOr<IssuedToken> IssueToken(const Principal& who,
                                                       const std::vector<std::string>& scopes,
                                                       int64_t ttl_s, std::string_view label);

  // Changes a user as `who` asks (PATCH /api/users/:name):
  // - a new password: the user themself, giving their current password
  //   (PermissionDenied when it is wrong, counted like a failed login), or an
  //   administrator for anyone. Every other session and token of the user is
  //   revoked: a new password is what one sets after a leak.
  // - admin on or off: administrators only. The last administrator cannot be
  //   demoted (Aborted). A demoted user's sessions and tokens that carry the
  //   admin scope are revoked.
  // PermissionDenied when `who` may not; NotFound for no such user.
  [[nodiscard]] absl::StatusOr<User> ChangeUser(const Principal& who, std::string_view name,
                                                const UserChange& change, std::string_view address);
  // Deletes a user and revokes their sessions and tokens: administrators
  // only, never the last administrator (Aborted). Their videos stay theirs.
  [[nodiscard]] absl::Status DeleteUser(const Principal& who, std::string_view name);

  UserStore& users() { return users_; }
  TokenStore& tokens() { return tokens_; }

 private:
  absl::StatusOr<Principal> IdentifyByPassword(std::string_view user, std::string_view password,
                                               std::string_view address);
  // OK when `current` is `name`'s password: InvalidArgument when missing,
  // PermissionDenied when wrong (counted like a failed login).
  absl::Status CheckCurrentPassword(std::string_view name,
                                    const std::optional<std::string>& current,
                                    std::string_view address);
  // Aborted when `name` is the only administrator left.
  absl::Status KeepAnAdministrator(std::string_view name);

  UserStore users_;
  TokenStore tokens_;
  LoginLimiter limiter_;
};

// The first administrator, made on a start with no users at all: user
// "admin" with `password` when given (DVS_ADMIN_PASSWORD or the contents of
// --admin-password-file), else a random one written to
// `<data_dir>/admin-password` (mode 0600) and its path logged. Of several
// servers starting at once, one creates it; the others find it made.
[[nodiscard]] absl::Status BootstrapAdmin(Accounts& accounts, std::optional<std::string> password,
                                          const std::filesystem::path& data_dir);

}  // namespace dvs::access
