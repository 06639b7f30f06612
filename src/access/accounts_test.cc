#include "access/accounts.h"

#include <sys/stat.h>

#include <fstream>
#include <map>

#include "access/test_store.h"
#include "gtest/gtest.h"

namespace dvs::access {
namespace {

using testing::FakeClock;
using testing::TestStore;

std::string Basic(const std::string& user, const std::string& password);

class AccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(accounts_.users().Create("alice", "alice-password", false).ok());
  }

  TestStore db_;
  FakeClock clock_;
  Accounts accounts_{db_.store(), clock_.AsFunction()};
};

TEST_F(AccountsTest, NoCredentialsIsAnonymous) {
  absl::StatusOr<Principal> who = accounts_.Identify({});
  ASSERT_TRUE(who.ok());
  EXPECT_TRUE(who->anonymous());
}

TEST_F(AccountsTest, ASessionFromLoginCarriesEveryScopeOfItsUserUntilLogout) {
  absl::StatusOr<IssuedToken> session = accounts_.Login("alice", "alice-password", "a");
  ASSERT_TRUE(session.ok()) << session.status();
  absl::StatusOr<Principal> who = accounts_.Identify({.session_cookie = session->secret});
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->user, "alice");
  EXPECT_EQ(who->via, Via::kSession);
  EXPECT_EQ(who->scopes, ScopesOfUser(false));
  accounts_.Logout(session->secret);
  who = accounts_.Identify({.session_cookie = session->secret});
  ASSERT_TRUE(who.ok());
  EXPECT_TRUE(who->anonymous());
}

TEST_F(AccountsTest, AnApiTokenIsNotASessionCookie) {
  Principal alice{.user = "alice", .scopes = ScopesOfUser(false), .via = Via::kPassword};
  absl::StatusOr<IssuedToken> token = accounts_.IssueToken(alice, {"upload"}, 60, "");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_TRUE(accounts_.Identify({.session_cookie = token->secret})->anonymous());
  absl::StatusOr<Principal> who = accounts_.Identify({.authorization = "Bearer " + token->secret});
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->via, Via::kToken);
  EXPECT_EQ(who->scopes, kScopeUpload);
}

TEST_F(AccountsTest, AWrongBearerTokenIsUnauthenticatedNotAnonymous) {
  EXPECT_EQ(accounts_.Identify({.authorization = "Bearer dvs_nope"}).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(accounts_.Identify({.authorization = "Digest x"}).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AccountsTest, NonAdministratorsCannotGetTheAdminScopeNorEscalateByToken) {
  Principal alice{.user = "alice", .scopes = ScopesOfUser(false), .via = Via::kSession};
  EXPECT_EQ(accounts_.IssueToken(alice, {"upload", "admin"}, 60, "").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(accounts_.IssueToken(alice, {}, 60, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  Principal upload_token{.user = "alice", .scopes = kScopeUpload, .via = Via::kToken};
  EXPECT_EQ(accounts_.IssueToken(upload_token, {"delete"}, 60, "").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AccountsTest, RepeatedWrongPasswordsAreRateLimited) {
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(accounts_.Login("alice", "wrong-password", "a").status().code(),
              absl::StatusCode::kUnauthenticated);
  }
  EXPECT_TRUE(accounts_.LoginRetryAfterS("alice", "b").has_value());
  EXPECT_EQ(accounts_.Identify({.authorization = Basic("alice", "alice-password"), .address = "c"})
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  clock_.Advance(60'000);
  EXPECT_TRUE(accounts_.Identify({.authorization = Basic("alice", "alice-password")}).ok());
}

TEST_F(AccountsTest, UsersAreUniqueAndNeedAGoodNameAndPassword) {
  EXPECT_EQ(accounts_.users().Create("alice", "another-password", false).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(accounts_.users().Create("../etc", "long-enough", false).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(accounts_.users().Create("bob", "short", false).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(accounts_.users().Authenticate("nobody", "whatever1").status().code(),
            absl::StatusCode::kUnauthenticated);
}

class BootstrapTest : public ::testing::Test {
 protected:
  TestStore db_;
  FakeClock clock_;
  Accounts accounts_{db_.store(), clock_.AsFunction()};
};

TEST_F(BootstrapTest, AGivenPasswordMakesTheAdminAndNoFile) {
  ASSERT_TRUE(BootstrapAdmin(accounts_, "given-password", db_.dir()).ok());
  absl::StatusOr<User> admin = accounts_.users().Authenticate("admin", "given-password");
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_TRUE(admin->admin);
  EXPECT_FALSE(std::filesystem::exists(db_.dir() / "admin-password"));
}

TEST_F(BootstrapTest, WithoutAPasswordARandomOneIsWrittenReadableByTheOwnerOnly) {
  ASSERT_TRUE(BootstrapAdmin(accounts_, std::nullopt, db_.dir()).ok());
  std::filesystem::path file = db_.dir() / "admin-password";
  struct stat info {};
  ASSERT_EQ(stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  std::ifstream in(file);
  std::string password;
  std::getline(in, password);
  EXPECT_EQ(password.size(), 32u);
  EXPECT_TRUE(accounts_.users().Authenticate("admin", password).ok());
}

TEST_F(BootstrapTest, AStartWithUsersChangesNothing) {
  ASSERT_TRUE(BootstrapAdmin(accounts_, "first-password", db_.dir()).ok());
  ASSERT_TRUE(BootstrapAdmin(accounts_, "second-password", db_.dir()).ok());
  ASSERT_TRUE(BootstrapAdmin(accounts_, std::nullopt, db_.dir()).ok());
  EXPECT_TRUE(accounts_.users().Authenticate("admin", "first-password").ok());
  EXPECT_FALSE(std::filesystem::exists(db_.dir() / "admin-password"));
}

std::string Basic(const std::string& user, const std::string& password) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = user + ":" + password, out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return "Basic " + out;
}

// User management: alice (not an administrator) and root (one).
class AccountChangesTest : public AccountsTest {
 protected:
  void SetUp() override {
    AccountsTest::SetUp();
    ASSERT_TRUE(accounts_.users().Create("root", "root-password", true).ok());
  }
  Principal Session(const std::string& user, const std::string& password) {
    absl::StatusOr<IssuedToken> session = accounts_.Login(user, password, "a");
    EXPECT_TRUE(session.ok()) << session.status();
    absl::StatusOr<Principal> who = accounts_.Identify({.session_cookie = session->secret});
    EXPECT_TRUE(who.ok());
    secrets_[user] = session->secret;
    return *who;
  }
  bool Valid(const std::string& secret) {
    absl::StatusOr<Principal> who = accounts_.Identify({.authorization = "Bearer " + secret});
    return who.ok() && !who->anonymous();
  }
  std::map<std::string, std::string> secrets_;
};

TEST_F(AccountChangesTest, ANewOwnPasswordNeedsTheCurrentOneAndEndsEveryOtherSession) {
  Principal alice = Session("alice", "alice-password");
  absl::StatusOr<IssuedToken> other = accounts_.Login("alice", "alice-password", "b");
  ASSERT_TRUE(other.ok());
  UserChange change{.password = "a-new-password"};
  EXPECT_EQ(accounts_.ChangeUser(alice, "alice", change, "a").status().code(),
            absl::StatusCode::kInvalidArgument);
  change.current_password = "wrong-password";
  EXPECT_EQ(accounts_.ChangeUser(alice, "alice", change, "a").status().code(),
            absl::StatusCode::kPermissionDenied);
  change.current_password = "alice-password";
  ASSERT_TRUE(accounts_.ChangeUser(alice, "alice", change, "a").ok());
  EXPECT_FALSE(accounts_.Login("alice", "alice-password", "a").ok());
  EXPECT_TRUE(accounts_.Login("alice", "a-new-password", "a").ok());
  EXPECT_FALSE(Valid(other->secret));     // the other session ended
  EXPECT_TRUE(Valid(secrets_["alice"]));  // the one that asked goes on
}

TEST_F(AccountChangesTest, OnlyAnAdministratorSetsAnotherUsersPasswordOrRole) {
  Principal alice = Session("alice", "alice-password");
  Principal root = Session("root", "root-password");
  EXPECT_EQ(accounts_.ChangeUser(alice, "root", {.password = "taken-over!"}, "a").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(accounts_.ChangeUser(alice, "alice", {.admin = true}, "a").status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(accounts_.ChangeUser(root, "alice", {.password = "reset-by-root"}, "a").ok());
  EXPECT_TRUE(accounts_.Login("alice", "reset-by-root", "a").ok());
  EXPECT_FALSE(Valid(secrets_["alice"]));  // her sessions ended with the reset
  EXPECT_EQ(accounts_.ChangeUser(root, "nobody", {.admin = true}, "a").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(AccountChangesTest, ADemotedAdministratorLosesTheAdminScopeAtOnce) {
  Principal root = Session("root", "root-password");
  ASSERT_TRUE(accounts_.ChangeUser(root, "alice", {.admin = true}, "a").ok());
  Principal alice = Session("alice", "alice-password");
  absl::StatusOr<IssuedToken> admin_token = accounts_.IssueToken(alice, {"admin"}, 600, "");
  absl::StatusOr<IssuedToken> upload_token = accounts_.IssueToken(alice, {"upload"}, 600, "");
  ASSERT_TRUE(admin_token.ok() && upload_token.ok());
  ASSERT_TRUE(accounts_.ChangeUser(root, "alice", {.admin = false}, "a").ok());
  EXPECT_FALSE(Valid(admin_token->secret));
  EXPECT_FALSE(Valid(secrets_["alice"]));  // a session carries every scope of its user
  EXPECT_TRUE(Valid(upload_token->secret));
}

TEST_F(AccountChangesTest, TheLastAdministratorCannotBeDemotedOrDeleted) {
  Principal root = Session("root", "root-password");
  EXPECT_EQ(accounts_.ChangeUser(root, "root", {.admin = false}, "a").status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(accounts_.DeleteUser(root, "root").code(), absl::StatusCode::kAborted);
  ASSERT_TRUE(accounts_.ChangeUser(root, "alice", {.admin = true}, "a").ok());
  EXPECT_TRUE(accounts_.ChangeUser(root, "root", {.admin = false}, "a").ok());
}

TEST_F(AccountChangesTest, ADeletedUserCanNeitherLogInNorUseTheirTokens) {
  Principal alice = Session("alice", "alice-password");
  Principal root = Session("root", "root-password");
  absl::StatusOr<IssuedToken> token = accounts_.IssueToken(alice, {"upload"}, 600, "");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(accounts_.DeleteUser(alice, "root").code(), absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(accounts_.DeleteUser(root, "alice").ok());
  EXPECT_FALSE(accounts_.Login("alice", "alice-password", "a").ok());
  EXPECT_FALSE(Valid(token->secret));
  EXPECT_FALSE(Valid(secrets_["alice"]));
  EXPECT_EQ(accounts_.DeleteUser(root, "alice").code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace dvs::access
