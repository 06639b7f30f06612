#include "access/password.h"

#include "gtest/gtest.h"

namespace dvs::access {
namespace {

TEST(PasswordTest, AHashVerifiesItsPasswordAndNoOther) {
  absl::StatusOr<std::string> hash = HashPassword("correct horse");
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_TRUE(hash->starts_with("$argon2id$")) << *hash;
  EXPECT_EQ(hash->find("correct horse"), std::string::npos);
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horsE"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
}

TEST(PasswordTest, TheSamePasswordHashesDifferentlyEachTime) {
  absl::StatusOr<std::string> first = HashPassword("same password");
  absl::StatusOr<std::string> second = HashPassword("same password");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, *second);  // salted
  EXPECT_TRUE(VerifyPassword(*second, "same password"));
}

TEST(PasswordTest, HashesThatAreNotOursNeverVerify) {
  EXPECT_FALSE(VerifyPassword("", "anything"));
  EXPECT_FALSE(VerifyPassword("plain text password", "plain text password"));
  EXPECT_FALSE(VerifyPassword(std::string(500, '$'), "x"));
}

TEST(PasswordTest, ShortAndHugePasswordsAreRefused) {
  EXPECT_EQ(ValidatePassword("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidatePassword("1234567").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidatePassword("12345678").ok());
  EXPECT_EQ(ValidatePassword(std::string(kMaxPasswordLength + 1, 'x')).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dvs::access
