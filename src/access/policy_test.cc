#include "access/policy.h"

#include "gtest/gtest.h"

namespace dvs::access {
namespace {

Principal User(std::string name, Scopes scopes, bool admin = false) {
  return Principal{.user = std::move(name), .admin = admin, .scopes = scopes, .via = Via::kToken};
}

TEST(PolicyTest, AnonymousVisitorsMayOnlyView) {
  Principal nobody;
  EXPECT_EQ(Decide(nobody, Action::kView), Decision::kAllow);
  EXPECT_EQ(Decide(nobody, Action::kUpload), Decision::kUnauthenticated);
  EXPECT_EQ(Decide(nobody, Action::kDelete, ""), Decision::kUnauthenticated);
  EXPECT_EQ(Decide(nobody, Action::kDelete, "alice"), Decision::kUnauthenticated);
  EXPECT_EQ(Decide(nobody, Action::kManageTokens), Decision::kUnauthenticated);
  EXPECT_EQ(Decide(nobody, Action::kManageUsers), Decision::kUnauthenticated);
}

TEST(PolicyTest, UploadNeedsTheUploadScope) {
  EXPECT_EQ(Decide(User("alice", kScopeUpload), Action::kUpload), Decision::kAllow);
  EXPECT_EQ(Decide(User("alice", kScopeDelete), Action::kUpload), Decision::kForbidden);
}

TEST(PolicyTest, AnonymousUploadsOpenUploadsButNotDeletes) {
  PolicyOptions open{.anonymous_uploads = true};
  EXPECT_EQ(Decide(Principal{}, Action::kUpload, "", open), Decision::kAllow);
  EXPECT_EQ(Decide(Principal{}, Action::kDelete, "", open), Decision::kUnauthenticated);
}

TEST(PolicyTest, DeleteNeedsTheDeleteScopeAndOwnership) {
  EXPECT_EQ(Decide(User("alice", kScopeDelete), Action::kDelete, "alice"), Decision::kAllow);
  EXPECT_EQ(Decide(User("alice", kScopeDelete), Action::kDelete, "bob"), Decision::kForbidden);
  EXPECT_EQ(Decide(User("alice", kScopeUpload), Action::kDelete, "alice"), Decision::kForbidden);
  // Videos of nobody are not everybody's.
  EXPECT_EQ(Decide(User("alice", kScopeDelete), Action::kDelete, ""), Decision::kForbidden);
}

TEST(PolicyTest, AdministratorsWithTheAdminScopeMayDeleteAnyVideo) {
  Principal admin = User("root", ScopesOfUser(true), true);
  EXPECT_EQ(Decide(admin, Action::kDelete, "alice"), Decision::kAllow);
  EXPECT_EQ(Decide(admin, Action::kDelete, ""), Decision::kAllow);
  Principal admin_delete_only = User("root", kScopeDelete, true);
  EXPECT_EQ(Decide(admin_delete_only, Action::kDelete, "alice"), Decision::kForbidden);
  EXPECT_EQ(Decide(admin_delete_only, Action::kDelete, "root"), Decision::kAllow);
}

TEST(PolicyTest, OnlyAdministratorsManageUsers) {
  EXPECT_EQ(Decide(User("root", ScopesOfUser(true), true), Action::kManageUsers), Decision::kAllow);
  EXPECT_EQ(Decide(User("root", kScopeUpload, true), Action::kManageUsers), Decision::kForbidden);
  EXPECT_EQ(Decide(User("alice", ScopesOfUser(false)), Action::kManageUsers), Decision::kForbidden);
  // A forged admin scope without the admin flag is not enough.
  EXPECT_EQ(Decide(User("alice", kScopeAdmin), Action::kManageUsers), Decision::kForbidden);
}

TEST(PolicyTest, OnlyAdministratorsWithTheAdminScopeObserveTheCluster) {
  EXPECT_EQ(Decide(Principal{}, Action::kObserve), Decision::kUnauthenticated);
  EXPECT_EQ(Decide(User("root", ScopesOfUser(true), true), Action::kObserve), Decision::kAllow);
  EXPECT_EQ(Decide(User("root", kScopeUpload, true), Action::kObserve), Decision::kForbidden);
  EXPECT_EQ(Decide(User("alice", kScopeAdmin), Action::kObserve), Decision::kForbidden);
}

TEST(PolicyTest, OnlyTheOwnerWithTheUploadScopeOrAnAdministratorEditsAVideo) {
  EXPECT_EQ(Decide(Principal{}, Action::kEditVideo, "alice"), Decision::kUnauthenticated);
  EXPECT_EQ(Decide(User("alice", kScopeUpload), Action::kEditVideo, "alice"), Decision::kAllow);
  EXPECT_EQ(Decide(User("bob", kScopeUpload), Action::kEditVideo, "alice"), Decision::kForbidden);
  EXPECT_EQ(Decide(User("alice", kScopeDelete), Action::kEditVideo, "alice"), Decision::kForbidden);
  EXPECT_EQ(Decide(User("alice", kScopeUpload), Action::kEditVideo, ""), Decision::kForbidden);
  EXPECT_EQ(Decide(User("root", ScopesOfUser(true), true), Action::kEditVideo, "alice"),
            Decision::kAllow);
}

TEST(PolicyTest, HiddenVideosAreSeenByTheirOwnerAndAdministratorsOnly) {
  EXPECT_FALSE(MaySeeHidden(Principal{}, "alice"));
  EXPECT_FALSE(MaySeeHidden(Principal{}, ""));
  EXPECT_TRUE(MaySeeHidden(User("alice", kScopeDelete), "alice"));
  EXPECT_FALSE(MaySeeHidden(User("bob", ScopesOfUser(false)), "alice"));
  EXPECT_FALSE(MaySeeHidden(User("bob", ScopesOfUser(false)), ""));
  EXPECT_TRUE(MaySeeHidden(User("root", ScopesOfUser(true), true), "alice"));
  EXPECT_FALSE(MaySeeHidden(User("root", kScopeUpload, true), "alice"));
  EXPECT_FALSE(MaySeeHidden(User("alice", kScopeAdmin), "bob"));
}

TEST(PolicyTest, ScopesParseFromWordsAndBack) {
  absl::StatusOr<Scopes> scopes = ParseScopes({"delete", "upload"});
  ASSERT_TRUE(scopes.ok());
  EXPECT_EQ(*scopes, kScopeUpload | kScopeDelete);
  EXPECT_EQ(ScopeNames(*scopes), (std::vector<std::string>{"upload", "delete"}));
  EXPECT_EQ(ParseScopes({"root"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ScopesOfUser(false), kScopeUpload | kScopeDelete);
  EXPECT_EQ(ScopesOfUser(true), kScopeUpload | kScopeDelete | kScopeAdmin);
}

}  // namespace
}  // namespace dvs::access
