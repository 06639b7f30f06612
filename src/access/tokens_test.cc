#include "access/tokens.h"

#include "access/test_store.h"
#include "gtest/gtest.h"

namespace dvs::access {
namespace {

using testing::FakeClock;
using testing::TestStore;

class TokenStoreTest : public ::testing::Test {
 protected:
  TestStore db_;
  FakeClock clock_;
  TokenStore tokens_{db_.store(), clock_.AsFunction()};
};

TEST_F(TokenStoreTest, AnIssuedTokenVerifiesWithItsUserAndScopes) {
  absl::StatusOr<IssuedToken> issued =
      tokens_.Issue("alice", kScopeUpload, TokenKind::kApi, 3600, "laptop");
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_TRUE(issued->secret.starts_with("dvs_"));
  EXPECT_EQ(issued->secret.size(), 4u + 64u);
  absl::StatusOr<Token> token = tokens_.Verify(issued->secret);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->user, "alice");
  EXPECT_EQ(token->scopes, kScopeUpload);
  EXPECT_EQ(token->label, "laptop");
  EXPECT_EQ(token->expires_at_ms, clock_.now() + 3600 * 1000);
}

TEST_F(TokenStoreTest, OnlyTheHashIsStored) {
  absl::StatusOr<IssuedToken> issued = tokens_.Issue("alice", kScopeUpload, TokenKind::kApi, 60);
  ASSERT_TRUE(issued.ok());
  absl::StatusOr<metadata::SmallRecordPage> page = db_.store().ListSmall("token", "", 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->records.size(), 1u);
  EXPECT_EQ(page->records[0].key, TokenStore::IdOf(issued->secret));
  EXPECT_EQ(page->records[0].value.find(issued->secret.substr(4)), std::string::npos);
  // The id (the stored key) is not a credential.
  EXPECT_EQ(tokens_.Verify(page->records[0].key).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenStoreTest, AnExpiredTokenIsRefusedAndRemoved) {
  absl::StatusOr<IssuedToken> issued = tokens_.Issue("alice", kScopeUpload, TokenKind::kApi, 10);
  ASSERT_TRUE(issued.ok());
  ASSERT_TRUE(tokens_.Verify(issued->secret).ok());
  clock_.Advance(10'000);
  absl::StatusOr<Token> token = tokens_.Verify(issued->secret);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(token.status().message().find("expired"), absl::string_view::npos);
  EXPECT_TRUE(db_.store().ListSmall("token", "", 10)->records.empty());
}

TEST_F(TokenStoreTest, ARevokedTokenIsRefusedAtOnceDespiteTheCache) {
  absl::StatusOr<IssuedToken> issued = tokens_.Issue("alice", kScopeDelete, TokenKind::kApi, 60);
  ASSERT_TRUE(issued.ok());
  ASSERT_TRUE(tokens_.Verify(issued->secret).ok());  // now cached
  ASSERT_TRUE(tokens_.Revoke(issued->token.id, "alice").ok());
  EXPECT_EQ(tokens_.Verify(issued->secret).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenStoreTest, ARevokeOnAnotherServerIsSeenWithinTheCachePeriod) {
  TokenStore other(db_.store(), clock_.AsFunction());
  absl::StatusOr<IssuedToken> issued = tokens_.Issue("alice", kScopeDelete, TokenKind::kApi, 600);
  ASSERT_TRUE(issued.ok());
  ASSERT_TRUE(tokens_.Verify(issued->secret).ok());
  ASSERT_TRUE(other.Revoke(issued->token.id).ok());
  clock_.Advance(TokenStore::kCacheForMs);
  EXPECT_EQ(tokens_.Verify(issued->secret).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenStoreTest, AUserCannotRevokeAnotherUsersToken) {
  absl::StatusOr<IssuedToken> issued = tokens_.Issue("alice", kScopeDelete, TokenKind::kApi, 60);
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(tokens_.Revoke(issued->token.id, "mallory").code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(tokens_.Verify(issued->secret).ok());
  EXPECT_EQ(tokens_.Revoke("not-a-token-id", "alice").code(), absl::StatusCode::kNotFound);
}

TEST_F(TokenStoreTest, MalformedAndUnknownSecretsAreUnauthenticated) {
  for (std::string secret :
       std::vector<std::string>{"", "dvs_", "dvs_xyz", std::string("dvs_") + std::string(64, 'g'),
                                std::string("abc_") + std::string(64, 'a'),
                                std::string("dvs_") + std::string(64, 'a')}) {
    EXPECT_EQ(tokens_.Verify(secret).status().code(), absl::StatusCode::kUnauthenticated) << secret;
  }
}

TEST_F(TokenStoreTest, ListsAUsersLiveTokensWithoutSecrets) {
  ASSERT_TRUE(tokens_.Issue("alice", kScopeUpload, TokenKind::kApi, 60, "one").ok());
  clock_.Advance(1);
  ASSERT_TRUE(tokens_.Issue("alice", kScopeDelete, TokenKind::kApi, 3600, "two").ok());
  ASSERT_TRUE(tokens_.Issue("bob", kScopeUpload, TokenKind::kApi, 60, "bob's").ok());
  absl::StatusOr<std::vector<Token>> listed = tokens_.ListFor("alice");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].label, "one");
  EXPECT_EQ((*listed)[1].label, "two");
  clock_.Advance(120'000);
  EXPECT_EQ(tokens_.ListFor("alice")->size(), 1u);
}

TEST_F(TokenStoreTest, DropExpiredRemovesOnlyTheExpired) {
  ASSERT_TRUE(tokens_.Issue("alice", kScopeUpload, TokenKind::kSession, 10).ok());
  ASSERT_TRUE(tokens_.Issue("bob", kScopeUpload, TokenKind::kApi, 10).ok());
  absl::StatusOr<IssuedToken> lasting = tokens_.Issue("alice", kScopeUpload, TokenKind::kApi, 60);
  ASSERT_TRUE(lasting.ok());
  clock_.Advance(10'000);
  absl::StatusOr<size_t> dropped = tokens_.DropExpired();
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(*dropped, 2u);
  absl::StatusOr<metadata::SmallRecordPage> left = db_.store().ListSmall("token", "", 10);
  ASSERT_EQ(left->records.size(), 1u);
  EXPECT_EQ(left->records[0].key, lasting->token.id);
}

TEST_F(TokenStoreTest, BadTtlsAndLabelsAreRefused) {
  EXPECT_EQ(tokens_.Issue("a", kScopeUpload, TokenKind::kApi, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      tokens_.Issue("a", kScopeUpload, TokenKind::kApi, TokenStore::kMaxTtlS + 1).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      tokens_.Issue("a", kScopeUpload, TokenKind::kApi, 60, std::string(101, 'x')).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dvs::access
