#include "web/tus_store.h"

#include <atomic>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace dvs::web {
namespace {

namespace fs = std::filesystem;

class TusStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::remove_all(dir_); }
  void TearDown() override { fs::remove_all(dir_); }

  TusUpload Sample() {
    return TusUpload{.owner = "alice",
                     .filename = "clip\n\"one\".mp4",
                     .visibility = "private",
                     .length = 1000,
                     .expires_ms = now_ + 60'000};
  }

  const fs::path dir_ =
      fs::path(::testing::TempDir()) /
      ("tus_store_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  std::atomic<int64_t> now_{1'700'000'000'000};
  TusStore store_{dir_, [this] { return now_.load(); }};
};

TEST_F(TusStoreTest, KeepsWhatItWasToldAcrossAnotherStoreOfTheSameFolder) {
  absl::StatusOr<TusUpload> created = store_.Create(Sample());
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->id.size(), 32u);
  created->offset = 400;
  ASSERT_TRUE(store_.Save(*created).ok());
  EXPECT_TRUE(fs::exists(store_.DataPath(created->id)));

  TusStore reopened(dir_, [this] { return now_.load(); });  // as after a restart
  absl::StatusOr<TusUpload> read = reopened.Read(created->id);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->owner, "alice");
  EXPECT_EQ(read->filename, "clip\n\"one\".mp4");
  EXPECT_EQ(read->visibility, "private");
  EXPECT_EQ(read->length, 1000u);
  EXPECT_EQ(read->offset, 400u);
  EXPECT_EQ(read->state, TusUpload::State::kReceiving);
}

TEST_F(TusStoreTest, UnknownAndMalformedIdsAreNotFound) {
  EXPECT_EQ(store_.Read("0123456789abcdef0123456789abcdef").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.Read("../etc").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_.Remove("../../x").code(), absl::StatusCode::kNotFound);
}

TEST_F(TusStoreTest, OneWriterAtATime) {
  absl::StatusOr<TusUpload> created = store_.Create(Sample());
  ASSERT_TRUE(created.ok());
  {
    absl::StatusOr<TusStore::Lease> first = store_.Acquire(created->id);
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(store_.Acquire(created->id).status().code(), absl::StatusCode::kAborted);
  }
  EXPECT_TRUE(store_.Acquire(created->id).ok());
}

TEST_F(TusStoreTest, ExpiredUploadsAreGoneWithTheirBytes) {
  absl::StatusOr<TusUpload> old_one = store_.Create(Sample());
  TusUpload later = Sample();
  later.expires_ms = now_ + 120'000;
  absl::StatusOr<TusUpload> young = store_.Create(later);
  ASSERT_TRUE(old_one.ok() && young.ok());
  std::ofstream(store_.DataPath(old_one->id)) << "some bytes";
  now_ += 90'000;
  EXPECT_EQ(store_.RemoveExpired(), 1u);
  EXPECT_FALSE(fs::exists(store_.DataPath(old_one->id)));
  EXPECT_EQ(store_.Read(old_one->id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_.Read(young->id).ok());
}

TEST_F(TusStoreTest, AnUploadBeingWrittenIsNotSweptAway) {
  absl::StatusOr<TusUpload> created = store_.Create(Sample());
  ASSERT_TRUE(created.ok());
  absl::StatusOr<TusStore::Lease> lease = store_.Acquire(created->id);
  now_ += 90'000;
  EXPECT_EQ(store_.RemoveExpired(), 0u);
  EXPECT_TRUE(fs::exists(store_.DataPath(created->id)));
}

TEST_F(TusStoreTest, RemoveDeletesTheFolder) {
  absl::StatusOr<TusUpload> created = store_.Create(Sample());
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(store_.Remove(created->id).ok());
  EXPECT_FALSE(fs::exists(dir_ / created->id));
  EXPECT_EQ(store_.Remove(created->id).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace dvs::web
