#include "common/sha256.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace dvs::common {
namespace {

constexpr char kEmptyDigest[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbcDigest[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

// A temp folder of its own, removed at the end of the test.
class Sha256FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "sha256_test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

std::string PatternBytes(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  return bytes;
}

TEST(Sha256Test, EmptyInputGivesTheKnownDigest) { EXPECT_EQ(Sha256Hex(""), kEmptyDigest); }

TEST(Sha256Test, AbcGivesTheKnownDigest) { EXPECT_EQ(Sha256Hex("abc"), kAbcDigest); }

TEST(Sha256Test, TwoBlockMessageGivesTheKnownDigest) {
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, StreamingUpdatesOfSeveralMegabytesEqualOneShot) {
  std::string bytes = PatternBytes(5 * 1024 * 1024 + 17);
  Sha256 hasher;
  // Uneven pieces so block boundaries fall inside updates.
  size_t pos = 0;
  for (size_t piece = 1; pos < bytes.size(); piece = piece * 3 + 1) {
    size_t n = std::min(piece, bytes.size() - pos);
    hasher.Update(std::string_view(bytes).substr(pos, n));
    pos += n;
  }
  EXPECT_EQ(hasher.FinalHex(), Sha256Hex(bytes));
  EXPECT_NE(Sha256Hex(bytes), kEmptyDigest);
}

TEST(Sha256Test, DigestIsLowercaseHexOf64Digits) {
  std::string digest = Sha256Hex("dvs");
  ASSERT_EQ(digest.size(), 64u);
  EXPECT_EQ(digest.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST_F(Sha256FileTest, FileDigestEqualsDigestOfItsBytes) {
  std::string bytes = PatternBytes(3 * 1024 * 1024 + 5);  // spans several read chunks
  std::filesystem::path path = dir_ / "data.bin";
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
  absl::StatusOr<std::string> digest = Sha256OfFile(path);
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(*digest, Sha256Hex(bytes));
}

TEST_F(Sha256FileTest, EmptyFileGivesTheEmptyDigest) {
  std::filesystem::path path = dir_ / "empty";
  std::ofstream(path, std::ios::binary).close();
  absl::StatusOr<std::string> digest = Sha256OfFile(path);
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(*digest, kEmptyDigest);
}

TEST_F(Sha256FileTest, MissingFileIsNotFound) {
  absl::StatusOr<std::string> digest = Sha256OfFile(dir_ / "missing");
  EXPECT_EQ(digest.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(Sha256FileTest, DirectoryIsAnErrorNotADigest) {
  absl::StatusOr<std::string> digest = Sha256OfFile(dir_);
  EXPECT_FALSE(digest.ok());
}

TEST(RandomHexTest, GivesTwoLowercaseDigitsPerByteAndDiffersEachTime) {
  std::string first = RandomHex(8);
  EXPECT_EQ(first.size(), 16u);
  EXPECT_EQ(first.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(first, RandomHex(8));
}

}  // namespace
}  // namespace dvs::common
