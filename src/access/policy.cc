#include "access/policy.h"

#include "absl/strings/str_cat.h"

namespace dvs::access {

Scopes ScopesOfUser(bool admin) { return kScopeUpload | kScopeDelete | (admin ? kScopeAdmin : 0u); }

absl::StatusOr<Scopes> ParseScopes(const std::vector<std::string>& words) {
  Scopes scopes = 0;
  for (const std::string& word : words) {
    if (word == "upload") {
      scopes |= kScopeUpload;
    } else if (word == "delete") {
      scopes |= kScopeDelete;
    } else if (word == "admin") {
      scopes |= kScopeAdmin;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown scope \"", word, "\" (scopes are upload, delete, admin)"));
    }
  }
  return scopes;
}

std::vector<std::string> ScopeNames(Scopes scopes) {
  std::vector<std::string> names;
  if (scopes & kScopeUpload) names.push_back("upload");
  if (scopes & kScopeDelete) names.push_back("delete");
  if (scopes & kScopeAdmin) names.push_back("admin");
  return names;
}

Decision Decide(const Principal& who, Action action, std::string_view owner,
                const PolicyOptions& options) {
  if (action == Action::kView) return Decision::kAllow;
  if (action == Action::kUpload && options.anonymous_uploads) return Decision::kAllow;
  if (who.anonymous()) return Decision::kUnauthenticated;
  switch (action) {
    case Action::kView:
      return Decision::kAllow;
    case Action::kUpload:
      return who.Has(kScopeUpload) ? Decision::kAllow : Decision::kForbidden;
    case Action::kDelete:
      // Videos of nobody (anonymous uploads) are only an administrator's to delete.
      if (who.admin && who.Has(kScopeAdmin)) return Decision::kAllow;
      return who.Has(kScopeDelete) && !owner.empty() && owner == who.user ? Decision::kAllow
                                                                          : Decision::kForbidden;
    case Action::kEditVideo:
      if (who.admin && who.Has(kScopeAdmin)) return Decision::kAllow;
      return who.Has(kScopeUpload) && !owner.empty() && owner == who.user ? Decision::kAllow
                                                                          : Decision::kForbidden;
    case Action::kManageTokens:
      return Decision::kAllow;
    case Action::kManageUsers:
    case Action::kObserve:
      return who.admin && who.Has(kScopeAdmin) ? Decision::kAllow : Decision::kForbidden;
  }
  return Decision::kForbidden;
}

bool MaySeeHidden(const Principal& who, std::string_view owner) {
  if (who.anonymous()) return false;
  return (!owner.empty() && owner == who.user) || (who.admin && who.Has(kScopeAdmin));
}

std::string DecisionReason(const Principal& who, Action action, Decision decision) {
  if (decision == Decision::kUnauthenticated) {
    return "log in, or send a token (Authorization: Bearer ...)";
  }
  switch (action) {
    case Action::kUpload:
      return "this credential lacks the \"upload\" scope";
    case Action::kDelete:
      return who.Has(kScopeDelete) ? "only the video's owner or an administrator may delete it"
                                   : "this credential lacks the \"delete\" scope";
    case Action::kEditVideo:
      return who.Has(kScopeUpload) ? "only the video's owner or an administrator may change it"
                                   : "this credential lacks the \"upload\" scope";
    case Action::kManageUsers:
      return "only an administrator (with the \"admin\" scope) may manage users";
    case Action::kObserve:
      return "only an administrator (with the \"admin\" scope) may see the cluster's status";
    default:
      return "not allowed";
  }
}

}  // namespace dvs::access
