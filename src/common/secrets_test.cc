#include "common/secrets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace dvs::common {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

fs::path WriteFile(const std::string& name, const std::string& bytes) {
  fs::path path =
      fs::path(::testing::TempDir()) / ("secrets_test-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(ConstantTimeEqualsTest, EqualOnlyForTheSameBytes) {
  EXPECT_TRUE(ConstantTimeEquals("Bearer s3cret", "Bearer s3cret"));
  EXPECT_FALSE(ConstantTimeEquals("Bearer s3creT", "Bearer s3cret"));
  EXPECT_FALSE(ConstantTimeEquals("Bearer s3cre", "Bearer s3cret"));
  EXPECT_FALSE(ConstantTimeEquals("Bearer s3cretX", "Bearer s3cret"));
  EXPECT_FALSE(ConstantTimeEquals("", "Bearer s3cret"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  // An embedded NUL is a byte like any other, not an end.
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("ab\0c", 4), std::string_view("ab\0d", 4)));
}

TEST(IsLoopbackHostTest, OnlyAddressesOfThisMachine) {
  for (const char* host : {"localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "10.0.0.1", "example.com", "128.0.0.1", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(ReadTokenFileTest, DropsOneTrailingNewline) {
  EXPECT_EQ(ReadTokenFile(WriteFile("lf", "abc\n"), "--t").value(), "abc");
  EXPECT_EQ(ReadTokenFile(WriteFile("crlf", "abc\r\n"), "--t").value(), "abc");
  EXPECT_EQ(ReadTokenFile(WriteFile("bare", "abc"), "--t").value(), "abc");
}

TEST(ReadTokenFileTest, EmptyTokenIsAnError) {
  for (const char* bytes : {"", "\n", "\r\n"}) {
    absl::StatusOr<std::string> token = ReadTokenFile(WriteFile("empty", bytes), "--t");
    EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(token.status().message()), HasSubstr("holds no token"));
  }
}

TEST(ReadTokenFileTest, MissingFileNamesTheFlag) {
  absl::StatusOr<std::string> token =
      ReadTokenFile("/nonexistent/dvs/token", "--cluster-token-file");
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(token.status().message()), HasSubstr("--cluster-token-file"));
}

TEST(ReadPemFileTest, EmptyOrMissingFileIsAnError) {
  EXPECT_EQ(ReadPemFile(WriteFile("empty.pem", ""), "--tls-ca").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadPemFile("/nonexistent/ca.pem", "--tls-ca").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadPemFile(WriteFile("x.pem", "-----BEGIN X-----\n"), "--tls-ca").value(),
            "-----BEGIN X-----\n");
}

}  // namespace
}  // namespace dvs::common
