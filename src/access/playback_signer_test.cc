#include "access/playback_signer.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "access/test_store.h"
#include "gtest/gtest.h"

namespace dvs::access {
namespace {

using testing::FakeClock;
using testing::TestStore;

PlaybackSigner::Key KeyOf(unsigned char fill) {
  PlaybackSigner::Key key;
  key.fill(fill);
  return key;
}

class PlaybackSignerTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  PlaybackSigner signer_{KeyOf(7), clock_.AsFunction()};
  const int64_t expires_ = clock_.now() + 60'000;
  const std::string signature_ = signer_.Sign("clip", "0123abcd", expires_);
  std::string Expires() const { return absl::StrCat(expires_); }
};

TEST_F(PlaybackSignerTest, ASignatureVerifiesUntilItsExpiry) {
  EXPECT_EQ(signature_.size(), 64u);
  EXPECT_TRUE(signer_.Verify("clip", "0123abcd", Expires(), signature_).ok());
  clock_.Advance(59'999);
  EXPECT_TRUE(signer_.Verify("clip", "0123abcd", Expires(), signature_).ok());
  clock_.Advance(1);
  absl::Status expired = signer_.Verify("clip", "0123abcd", Expires(), signature_);
  EXPECT_EQ(expired.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(std::string(expired.message()).find("expired"), std::string::npos);
}

TEST_F(PlaybackSignerTest, AChangedSignatureIsRefused) {
  std::string tampered = signature_;
  tampered[10] = tampered[10] == 'a' ? 'b' : 'a';
  EXPECT_EQ(signer_.Verify("clip", "0123abcd", Expires(), tampered).code(),
            absl::StatusCode::kPermissionDenied);
  for (std::string bad : {std::string(), signature_.substr(2), signature_ + "00",
                          std::string(64, 'z'), std::string(64, '0')}) {
    EXPECT_EQ(signer_.Verify("clip", "0123abcd", Expires(), bad).code(),
              absl::StatusCode::kPermissionDenied)
        << bad;
  }
}

TEST_F(PlaybackSignerTest, ALaterExpiryInTheUrlIsRefused) {
  for (std::string other : {absl::StrCat(expires_ + 3'600'000), absl::StrCat("0", expires_),
                            absl::StrCat("+", expires_), std::string("-1"), std::string("x")}) {
    EXPECT_EQ(signer_.Verify("clip", "0123abcd", other, signature_).code(),
              absl::StatusCode::kPermissionDenied)
        << other;
  }
}

TEST_F(PlaybackSignerTest, TheSignatureOfOneVideoDoesNotOpenAnother) {
  EXPECT_EQ(signer_.Verify("other-clip", "0123abcd", Expires(), signature_).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(PlaybackSignerTest, AnOldGenerationsSignatureIsRefused) {
  // The video was deleted and uploaded again under the same id.
  EXPECT_EQ(signer_.Verify("clip", "ffff0000", Expires(), signature_).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(PlaybackSignerTest, AnotherKeySignsOtherwise) {
  PlaybackSigner other(KeyOf(8), clock_.AsFunction());
  EXPECT_NE(other.Sign("clip", "0123abcd", expires_), signature_);
  EXPECT_FALSE(other.Verify("clip", "0123abcd", Expires(), signature_).ok());
}

TEST(PlaybackKeyTest, TheFirstServerMakesTheKeyAndTheOthersReadIt) {
  TestStore db;
  absl::StatusOr<PlaybackSigner::Key> first = LoadOrCreatePlaybackKey(db.store());
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<PlaybackSigner::Key> second = LoadOrCreatePlaybackKey(db.store());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*first, *second);
  EXPECT_NE(*first, PlaybackSigner::Key{});
  FakeClock clock;
  PlaybackSigner a(*first, clock.AsFunction());
  PlaybackSigner b(*second, clock.AsFunction());
  std::string signature = a.Sign("clip", "g", clock.now() + 1000);
  EXPECT_TRUE(b.Verify("clip", "g", absl::StrCat(clock.now() + 1000), signature).ok());
}

TEST(PlaybackKeyTest, AMalformedStoredKeyIsAnErrorNotAnotherKey) {
  TestStore db;
  ASSERT_TRUE(db.store().WriteSmall("secret", "playback", "{\"key\":\"short\"}", 0).ok());
  EXPECT_EQ(LoadOrCreatePlaybackKey(db.store()).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace dvs::access
