// Who may do what, in one place (DESIGN §7a). A request is made by a
// Principal: nobody (anonymous), or a user through a session, an API token
// or a password (HTTP Basic), with the scopes that credential carries.
// Decide() answers for one action; the web layer maps kUnauthenticated to
// 401 and kForbidden to 403. Pure values and functions: thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace dvs::access {

// Scopes as bits. A session, or a password, carries every scope its user
// may hold: upload and delete, plus admin for administrators.
enum Scope : uint32_t {
  kScopeUpload = 1u << 0,
  kScopeDelete = 1u << 1,
  kScopeAdmin = 1u << 2,
};
using Scopes = uint32_t;

// Every scope a user may hold.
Scopes ScopesOfUser(bool admin);
// "upload", "delete", "admin" -> bits; InvalidArgument for another word.
[[nodiscard]] absl::StatusOr<Scopes> ParseScopes(const std::vector<std::string>& words);
std::vector<std::string> ScopeNames(Scopes scopes);

enum class Via { kNone, kSession, kToken, kPassword };

struct Principal {
  std::string user;    // empty: anonymous
  bool admin = false;  // the user is an administrator (scopes may still lack kScopeAdmin)
  Scopes scopes = 0;
  Via via = Via::kNone;
  std::string token_id;  // the session's or token's id, when via one

  bool anonymous() const { return user.empty(); }
  bool Has(Scope scope) const { return (scopes & scope) != 0; }
};

enum class Action {
  kView,          // pages, lists, content of public videos
  kUpload,        // POST /upload
  kDelete,        // DELETE /api/videos/:id, with the video's owner
  kEditVideo,     // PATCH /api/videos/:id (visibility), with the video's owner
  kManageTokens,  // one's own tokens
  kManageUsers,   // create users
  kObserve,       // /metrics from afar, the cluster's status page: administrators
};

enum class Decision { kAllow, kUnauthenticated, kForbidden };

struct PolicyOptions {
  // The trusted-LAN mode: anyone may upload (anonymous uploads get owner "").
  bool anonymous_uploads = false;
};

// `owner` is the video's owner, for kDelete.
Decision Decide(const Principal& who, Action action, std::string_view owner = {},
                const PolicyOptions& options = {});

// May `who` see a video of `owner` that is hidden from others (private)?
// Its owner and administrators (with the admin scope) may, whatever the
// credential's other scopes.
bool MaySeeHidden(const Principal& who, std::string_view owner);

// Why a request was refused, for the answer's message.
std::string DecisionReason(const Principal& who, Action action, Decision decision);

}  // namespace dvs::access
